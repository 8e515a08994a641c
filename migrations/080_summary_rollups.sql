-- Rollups of the daily summary's samples (src/storage/rollups.ts): a cache of what the
-- summary would aggregate from the raw samples, kept in the transaction that writes or
-- deletes them. Buckets are 15 minutes of UTC, so every local day of a zone whose offset
-- is a multiple of 15 minutes is a whole number of buckets.

-- Per bucket, metric, source and grain (end - start): every sample, and those the
-- finer-grain rule keeps (no finer sample of the same source starts inside its period).
-- The grain is part of the key because a finer upload arriving later can take samples of
-- a coarser grain out of the count.
CREATE TABLE quantity_rollups (
  user_id uuid NOT NULL,
  bucket timestamptz NOT NULL,
  metric text NOT NULL,
  source text NOT NULL,
  grain interval NOT NULL,
  samples int NOT NULL,
  total numeric NOT NULL,
  kept int NOT NULL,
  kept_total numeric NOT NULL,
  PRIMARY KEY (user_id, bucket, metric, source, grain)
);
-- The longest grain a source sent: how far back a sample may start and still hold a new one;
-- and that source's buckets over such a stretch.
CREATE INDEX quantity_rollups_grain_idx ON quantity_rollups (user_id, metric, source, grain);
CREATE INDEX quantity_rollups_source_idx ON quantity_rollups (user_id, metric, source, bucket);

-- Per bucket, heart rate over every source.
CREATE TABLE heart_rate_rollups (
  user_id uuid NOT NULL,
  bucket timestamptz NOT NULL,
  samples int NOT NULL,
  low double precision NOT NULL,
  avg_total numeric NOT NULL,
  high double precision NOT NULL,
  PRIMARY KEY (user_id, bucket)
);

-- Users whose rollups are not built yet: their summary reads the raw samples until the
-- server (at start, in the background) or `cli rollups rebuild` has built them.
CREATE TABLE rollups_pending (
  user_id uuid PRIMARY KEY
);
INSERT INTO rollups_pending (user_id)
SELECT u.id FROM users u
WHERE EXISTS (SELECT 1 FROM quantity_samples s WHERE s.user_id = u.id)
   OR EXISTS (SELECT 1 FROM heart_rate_samples h WHERE h.user_id = u.id);
