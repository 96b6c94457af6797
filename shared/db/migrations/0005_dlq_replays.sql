-- Dead-letter replays (CONTRACT §5): an audit row per replay, and which dead letters it published.

-- One row per replay that was carried out (dry runs write nothing): who, when, what, how many.
CREATE TABLE dlq_replays (
    replay_id   bigserial PRIMARY KEY,
    replayed_at timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,            -- 'cli:<os user>', or the API key id of an HTTP call
    queue       text NOT NULL,            -- short queue name: owner-unresolved, mortgaged, ...
    dlq_topic   text NOT NULL,
    filter      jsonb NOT NULL DEFAULT '{}',
    replayed    integer NOT NULL,         -- dead letters published again
    refused     integer NOT NULL,         -- at the replay limit, or with nowhere to go back to
    skipped     integer NOT NULL          -- replayed before
);

-- The dead letters already published again, by their place in the dead-letter topic: a second
-- replay of the same set publishes nothing, and list hides them by default.
CREATE TABLE dlq_replayed (
    dlq_topic     text NOT NULL,
    dlq_partition integer NOT NULL,
    dlq_offset    bigint NOT NULL,
    record_id     text,
    replay_id     bigint NOT NULL REFERENCES dlq_replays (replay_id),
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX dlq_replayed_replay ON dlq_replayed (replay_id);
