-- A flood of invalid samples must not fill the disk: only the first REJECTIONS_KEPT_MAX
-- rejections of an ingestion are kept in rejected_samples; the rest are counted here
-- (per type in by_type, per category in rejected_by_category), so nothing disappears silently.
ALTER TABLE raw_ingestions
  ADD COLUMN rejections_not_kept int NOT NULL DEFAULT 0,
  ADD COLUMN rejected_by_category jsonb;
