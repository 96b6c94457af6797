-- The record ledger, the intake outbox and API keys.

CREATE TABLE api_keys (
    key_id      text PRIMARY KEY,            -- public part of the key, shown in logs and audits
    secret_hash bytea NOT NULL,              -- sha256 of the secret part; the secret itself is never stored
    role        text NOT NULL CHECK (role IN ('submitter', 'operator', 'viewer')),
    communes    text[] NOT NULL DEFAULT '{}',
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- One row per Form 01 record, from receipt to its final state.
CREATE TABLE records (
    record_id       uuid PRIMARY KEY,
    submission_id   text NOT NULL UNIQUE,    -- upstream idempotency key (CONTRACT §1)
    content_hash    bytea NOT NULL,          -- tells a true resubmission from a reused submission_id
    commune_code    text NOT NULL,
    parcel_key      text NOT NULL,
    record          json NOT NULL,           -- the NFC-normalised record as received (json, not
                                             -- jsonb: kept as text, so intake does not pay jsonb's
                                             -- conversion on the hot path)
    status          text NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'accepted', 'synced', 'rejected', 'dead_lettered', 'duplicate')),
    reasons         jsonb NOT NULL DEFAULT '[]',
    warnings        jsonb NOT NULL DEFAULT '[]',
    submitted_by    text,                    -- api key id
    received_at     timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    sync_state      text CHECK (sync_state IN ('pending', 'synced', 'failed')),
    sync_attempts   integer NOT NULL DEFAULT 0,
    sync_last_error text,
    national_id     text,
    synced_at       timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The ledger grows by hundreds of thousands of rows in minutes: keep its statistics fresh.
ALTER TABLE records SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 5000);

-- Transactional outbox: written in the same transaction as the ledger rows, drained to Kafka by
-- intake's relay, so a 202 survives a broker outage or a crash before the publish.
-- It holds only the record's id: the message is built from the ledger row, so the record's bytes
-- are written once, not twice.
CREATE TABLE outbox (
    id        bigserial PRIMARY KEY,
    record_id uuid NOT NULL  -- no foreign key: rows come from the same INSERT, and RI checks
                             -- would cost a per-row trigger on the hot path
);
-- A queue table: rows come and go at intake's rate, so vacuum it by row count, not by share.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
                        autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000);
