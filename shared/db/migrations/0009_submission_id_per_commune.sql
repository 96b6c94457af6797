-- submission_id is unique per commune (CONTRACT §1), not across the province: one commune can
-- neither squat another's ids nor learn from a conflict that one of them exists. Ids unique in
-- the whole ledger are unique per commune too, so existing rows move over as they are.
-- submission_id leads the index, so a look-up by submission_id alone still uses it.
ALTER TABLE records DROP CONSTRAINT records_submission_id_key;
ALTER TABLE records
    ADD CONSTRAINT records_submission_id_commune_key UNIQUE (submission_id, commune_code);
