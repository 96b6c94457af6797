-- Wakes the outbox relay when rows are committed, wherever it runs: intake's relay is a process
-- of its own and LISTENs on this channel. Once per statement, not per row, and PostgreSQL folds
-- equal notifications of one transaction into one, delivered at commit.
CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('landsync_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox();
