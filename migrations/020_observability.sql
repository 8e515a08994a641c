-- /metrics counts the distinct users with an ingestion in the last 24 hours on every
-- scrape; with this index that is an index-only scan of one day's rows, not of the archive.
CREATE INDEX raw_ingestions_received_user_idx ON raw_ingestions (received_at, user_id);
