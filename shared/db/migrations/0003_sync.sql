-- Sync's durable retry table: plots taken aside after transient failures, so the plots behind them
-- go on and the consumer may commit past them. A row holds everything needed to send the plot
-- again and, if it never gets through, to dead-letter it with the CONTRACT §3 headers.

CREATE TABLE sync_retries (
    record_id        uuid PRIMARY KEY,
    parcel_key       text NOT NULL,
    version          integer NOT NULL,
    commune_code     text NOT NULL,
    plot             bytea NOT NULL,          -- the land.plots.accepted value, unchanged
    origin_topic     text NOT NULL,
    origin_partition integer NOT NULL,
    origin_offset    bigint NOT NULL,
    origin_timestamp bigint NOT NULL,         -- epoch ms
    origin_key       bytea,
    origin_headers   jsonb NOT NULL DEFAULT '{}',
    failures         integer NOT NULL,        -- attempts charged to the plot so far
    last_error       text,
    first_failed_at  timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL
);
CREATE INDEX sync_retries_due ON sync_retries (next_attempt_at);
-- A parcel's later versions wait behind its earlier ones.
CREATE INDEX sync_retries_parcel ON sync_retries (parcel_key, version);
