-- Form 01 imports (docs/form01.md): the commune's file as uploaded and each row's outcome, so
-- GET /v1/imports/{id}/annotated.xlsx can write the records' later decisions into the same sheet.
CREATE TABLE IF NOT EXISTS imports (
    import_id        uuid PRIMARY KEY,
    submitted_by     text NOT NULL,              -- api key id
    communes         text[] NOT NULL DEFAULT '{}',
    file_name        text,
    template_version text NOT NULL,
    header_row       integer NOT NULL,
    sheet_name       text NOT NULL,
    row_count        integer NOT NULL,
    record_count     integer NOT NULL,
    source           bytea NOT NULL,             -- the file, unchanged
    rows             jsonb NOT NULL,             -- [{row, record_id, status, reasons, columns}]
    errors           jsonb NOT NULL,             -- CONTRACT §2 per-row errors
    created_at       timestamptz NOT NULL DEFAULT now()
);
