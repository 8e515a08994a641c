-- The archive is written while a body arrives, in chunks of its gzip stream, rather
-- than as one bytea once the whole body is in memory (which also held the whole
-- upload and capped an archive at the 1 GB limit of one value). Chunks are written
-- before their ingestion row exists (it is inserted once the body is complete and
-- its SHA-256 known), so they have no foreign key: chunks whose ingestion never came
-- (the process died mid-body) are swept by written_at.
CREATE TABLE raw_ingestion_chunks (
  user_id uuid NOT NULL,
  ingestion_id uuid NOT NULL,
  seq int NOT NULL,
  data bytea NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, ingestion_id, seq)
);
CREATE INDEX raw_ingestion_chunks_written_idx ON raw_ingestion_chunks (written_at);

-- 'gzip': the old single value in raw_ingestions.body; 'gzip_chunks': in raw_ingestion_chunks.
ALTER TABLE raw_ingestions DROP CONSTRAINT raw_ingestions_body_encoding_check;
ALTER TABLE raw_ingestions ADD CONSTRAINT raw_ingestions_body_encoding_check CHECK (body_encoding IN ('gzip', 'gzip_chunks'));

-- How far a running ingestion has come, written with its lease heartbeat; NULL when not running.
ALTER TABLE raw_ingestions
  ADD COLUMN progress_bytes bigint,
  ADD COLUMN progress_samples bigint;
