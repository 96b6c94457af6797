-- Replays write their audit row before they publish ('publishing'), and mark it after: a database
-- failure between the publish and the audit can no longer leave a replay unrecorded, nor let the
-- same dead letters be replayed a second time. Rows of earlier versions were written after the
-- publish, so they are 'published'.
ALTER TABLE dlq_replays
    ADD COLUMN state text NOT NULL DEFAULT 'published'
        CHECK (state IN ('publishing', 'published', 'failed')),
    ADD COLUMN finished_at timestamptz;

-- Every listing of dead letters with names and personal IDs unmasked (reveal): who, when, what.
CREATE TABLE dlq_reveals (
    reveal_id   bigserial PRIMARY KEY,
    revealed_at timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,            -- 'cli:<os user>', or the API key id of an HTTP call
    queue       text NOT NULL,
    filter      jsonb NOT NULL DEFAULT '{}',
    revealed    integer NOT NULL          -- dead letters shown unmasked
);

-- Other audited events (registry probe refusals, …): who, what, when, and a detail without
-- personal data.
CREATE TABLE audit_events (
    event_id  bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,              -- an API key id, or 'cli:<os user>'
    action    text NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}'
);

-- The registry probe guard counts each key's owner_unresolved decisions of the last hour.
-- (`decision`: 0011 renamed `status`, and sorts first on a new ledger; on a ledger that applied
-- this file before 0011, the rename carries the index's predicate along.)
CREATE INDEX records_dead_lettered_by_key ON records (submitted_by, decided_at)
    WHERE decision = 'dead_lettered';
