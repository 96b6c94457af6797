-- The registry's key columns compare byte by byte (COLLATE "C"): equality is the same as under
-- the database's C.UTF-8, but sorts and index builds use memcmp instead of strcoll, which made
-- building the indexes after a province-sized `landsync registry load` about twice as fast.
-- Reconcile's lookups compare these columns with parameters of the default collation, which
-- take the column's: its indexes stay usable.
ALTER TABLE residents
  ALTER COLUMN personal_id TYPE text COLLATE "C",
  ALTER COLUMN legacy_id TYPE text COLLATE "C",
  ALTER COLUMN name_key TYPE text COLLATE "C";
ALTER TABLE certificates
  ALTER COLUMN serial_key TYPE text COLLATE "C",
  ALTER COLUMN commune_code TYPE text COLLATE "C";
-- Changing a column's type drops its statistics: without new ones the planner expects every row
-- to match a lookup and scans the whole registry for each batch.
ANALYZE residents;
ANALYZE certificates;
