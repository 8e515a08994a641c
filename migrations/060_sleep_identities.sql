-- Sleep identities (issue 17).
--
-- A summarised night was identified by the local date it ends on and its source, so two
-- naps ending the same day from one watch (15:59-17:28 and 17:28-18:26) overwrote each
-- other and every re-send flipped the stored row. A night is now identified by its start
-- (sleepStart, or inBedStart where sleepStart is absent) and its source: separate sleeps
-- stay separate, and a night re-sent while it grows (same start, later end) updates in
-- place. Every stored night has a start (sleepStart was required), so the rows keep their
-- start_at. Two rows can only meet under the new key when one night's end moved across a
-- local date between sends: the one that ends last is the grown night and is kept.
-- Naps overwritten before this migration come back by reprocessing the ingestions that
-- carried sleep data (`npm run cli -- reprocess --type sleep_analysis`, docs/data-model.md).
DELETE FROM sleep_nights n USING sleep_nights m
WHERE n.user_id = m.user_id AND n.source = m.source AND n.start_at = m.start_at
  AND (n.end_at, n.updated_at, n.night_date) < (m.end_at, m.updated_at, m.night_date);
ALTER TABLE sleep_nights DROP CONSTRAINT sleep_nights_pkey;
ALTER TABLE sleep_nights ADD PRIMARY KEY (user_id, source, start_at);
-- Nights are read by the time they end (the day they count for).
CREATE INDEX sleep_nights_user_end_idx ON sleep_nights (user_id, end_at);

-- A segment whose stage name this server does not know (a third-party app's) is stored as
-- `Unspecified`, with the name as sent in sent_stage ('' for the stages it knows, so `In Bed`
-- and `InBed` stay one stage). sent_stage is part of the identity: two unknown stages over
-- one interval are two segments. On the partitioned table the key is replaced on the parent,
-- which replaces it on every monthly partition.
ALTER TABLE sleep_segments ADD COLUMN sent_stage text NOT NULL DEFAULT '';
ALTER TABLE sleep_segments ADD CONSTRAINT sleep_segments_sent_stage_check CHECK (sent_stage = '' OR stage = 'Unspecified');
ALTER TABLE sleep_segments DROP CONSTRAINT sleep_segments_pkey;
ALTER TABLE sleep_segments ADD PRIMARY KEY (user_id, start_at, end_at, source, stage, sent_stage);
