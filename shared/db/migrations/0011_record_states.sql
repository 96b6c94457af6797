-- A record's two state machines (shared/states.py), the campaign's cases, targets and window.
--
-- Until now `status` mixed reconcile's decision with sync's progress: `synced` overwrote
-- `accepted`, and a plot the national database refused became `dead_lettered` with the sync
-- reason appended to the decision's reasons. From here `decision` (with `reasons`, `warnings`)
-- is reconcile's alone, and sync's progress is `sync_state` with `sync_reason`,
-- `sync_last_error`, `national_id`. Existing rows move without loss: a synced record is an
-- accepted decision with sync_state 'synced'; a sync dead letter is an accepted decision with
-- sync_state 'failed' and its (last) sync reason moved out of `reasons` (sync_rejected,
-- sync_exhausted, or the poison reason of a plot sync gave up on: undecodable, unprocessable).

ALTER TABLE records RENAME COLUMN status TO decision;
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_status_check;
ALTER TABLE records
    ADD COLUMN sync_reason text,
    ADD COLUMN corrects_record_id uuid;  -- the earlier rejected/dead-lettered record this one corrects

UPDATE records SET decision = 'accepted' WHERE decision = 'synced';
UPDATE records r SET
    decision = 'accepted',
    sync_reason = (SELECT x ->> 'code' FROM jsonb_array_elements(r.reasons) WITH ORDINALITY AS e(x, n)
                   WHERE x ->> 'code' IN ('sync_rejected', 'sync_exhausted', 'undecodable',
                                          'unprocessable')
                   ORDER BY n DESC LIMIT 1),
    reasons = (SELECT coalesce(jsonb_agg(x ORDER BY n), '[]'::jsonb)
               FROM jsonb_array_elements(r.reasons) WITH ORDINALITY AS e(x, n)
               WHERE x ->> 'code' NOT IN ('sync_rejected', 'sync_exhausted', 'undecodable',
                                          'unprocessable'))
WHERE r.decision = 'dead_lettered' AND r.sync_state = 'failed';
-- A plot synced after a replayed sync dead letter had its sync reasons dropped already.

ALTER TABLE records
    ADD CONSTRAINT records_decision_check
        CHECK (decision IN ('received', 'accepted', 'rejected', 'dead_lettered', 'duplicate')),
    ADD CONSTRAINT records_sync_reason_check
        CHECK (sync_reason IN ('sync_rejected', 'sync_exhausted', 'undecodable', 'unprocessable'));

-- The worklist (GET /v1/records) walks a commune's decisions in order, by keyset. This index
-- makes the decision's update non-HOT (decided_at is indexed); the later updates (outputs
-- marked sent, sync's progress) stay HOT.
CREATE INDEX records_worklist ON records (commune_code, decided_at, record_id)
    WHERE decided_at IS NOT NULL;
CREATE INDEX records_decided ON records (decided_at, record_id) WHERE decided_at IS NOT NULL;

-- One row per case (CONTRACT §6): a parcel of a commune. Intake inserts it with the parcel's
-- first record, reconcile moves it in the decision's transaction, sync stamps `synced_at`, so
-- the report counts cases without reading the ledger's history.
CREATE TABLE cases (
    parcel_key   text PRIMARY KEY,
    commune_code text NOT NULL,
    state        text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'open', 'cleaned', 'corrected')),
    reasons      text[] NOT NULL DEFAULT '{}',  -- an open case: its latest decision's reason codes
    record_id    uuid,                          -- the latest decided record of the parcel
    decided_at   timestamptz,                   -- when that record was decided
    received_at  timestamptz NOT NULL DEFAULT now(),  -- the parcel's first record received
    cleaned_at   timestamptz,                   -- first accepted
    synced_at    timestamptz,                   -- first version in the national database
    corrected_by uuid,                          -- a record with `corrects` closed it
    updated_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE cases SET (fillfactor = 80);

WITH latest AS (
    SELECT DISTINCT ON (parcel_key) parcel_key, record_id, decision, reasons, decided_at
    FROM records WHERE decision <> 'received'
    ORDER BY parcel_key, decided_at DESC, record_id DESC
), history AS (
    SELECT parcel_key, min(commune_code) AS commune_code, min(received_at) AS received_at,
           min(decided_at) FILTER (WHERE decision IN ('accepted', 'duplicate')) AS cleaned_at,
           min(synced_at) FILTER (WHERE sync_state = 'synced') AS synced_at
    FROM records GROUP BY parcel_key
)
INSERT INTO cases (parcel_key, commune_code, state, reasons, record_id, decided_at, received_at,
                   cleaned_at, synced_at)
SELECT h.parcel_key, h.commune_code,
       CASE WHEN h.cleaned_at IS NOT NULL THEN 'cleaned'
            WHEN l.decision IN ('rejected', 'dead_lettered') THEN 'open'
            ELSE 'pending' END,
       CASE WHEN h.cleaned_at IS NULL AND l.decision IN ('rejected', 'dead_lettered')
            THEN ARRAY(SELECT x ->> 'code' FROM jsonb_array_elements(l.reasons) AS x)
            ELSE '{}' END,
       l.record_id, l.decided_at, h.received_at, h.cleaned_at, h.synced_at
FROM history h LEFT JOIN latest l USING (parcel_key);

-- What the province asked each commune to collect (`landsync campaign targets load`).
CREATE TABLE campaign_targets (
    commune_code text PRIMARY KEY,
    target_plots integer NOT NULL CHECK (target_plots > 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The campaign's window (`landsync campaign window`): one row at most.
CREATE TABLE campaign_window (
    only_one   boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    starts_on  date NOT NULL,
    ends_on    date NOT NULL CHECK (ends_on >= starts_on),
    updated_at timestamptz NOT NULL DEFAULT now()
);
