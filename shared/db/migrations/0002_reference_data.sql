-- Reference data (CONTRACT §8): the population registry extract and the issued certificates.
-- Loaded by `landsync registry load`, which upserts: rows absent from a later file are kept.

CREATE TABLE residents (
  personal_id text PRIMARY KEY,          -- 12 digits
  legacy_id text,                        -- 9 digits or NULL
  full_name text NOT NULL,
  name_key text NOT NULL,                -- fold_name(full_name)
  date_of_birth date NOT NULL,
  sex text NOT NULL CHECK (sex IN ('male','female')),
  status text NOT NULL CHECK (status IN ('alive','deceased')),
  commune_code text
);
-- Owners are looked up by legacy ID when the 12-digit one is missing, and by name and birth date
-- when no ID is usable.
CREATE INDEX residents_legacy_id ON residents (legacy_id) WHERE legacy_id IS NOT NULL;
CREATE INDEX residents_name_dob ON residents (name_key, date_of_birth);

-- One row per (serial, parcel): a certificate covering several parcels has several rows.
CREATE TABLE certificates (
  serial text NOT NULL, serial_key text NOT NULL, book_number text, issued_on date,
  commune_code text NOT NULL, map_sheet integer NOT NULL, parcel_no integer NOT NULL,
  holder_ids text[] NOT NULL, status text NOT NULL CHECK (status IN ('valid','revoked','replaced')),
  mortgage_bank text, mortgage_registered_on date, mortgage_released_on date,
  PRIMARY KEY (serial_key, commune_code, map_sheet, parcel_no)
);
CREATE INDEX certificates_parcel ON certificates (commune_code, map_sheet, parcel_no);
