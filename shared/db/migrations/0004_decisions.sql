-- Reconciliation state: each parcel's accepted version, and what the ledger keeps of a decision.

-- The last accepted version of every parcel: what a later record of the parcel is compared with
-- (duplicate, duplicate_conflict, supersedes_previous).
CREATE TABLE parcels (
    parcel_key      text PRIMARY KEY,
    version         integer NOT NULL,
    record_id       uuid NOT NULL,
    plot_hash       bytea NOT NULL,
    certificate_key text,             -- serial_key of the certificate it was accepted under
    accepted_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE records
    ADD COLUMN plot_version integer,      -- the parcel version this record became, when accepted
    ADD COLUMN replay_count integer NOT NULL DEFAULT 0,  -- dlq.replay.count of the last decision
    ADD COLUMN published_at timestamptz;  -- when the decision's output was acknowledged by Kafka
