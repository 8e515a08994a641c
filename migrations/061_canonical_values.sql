-- Medication status, ECG classification, symptom and cycle-tracking values arrive in the
-- phone's language ("Tomado" / "Taken"). The record stays as sent (the qualifier too); where
-- the server recognises a value (src/ingest/translations/*.json), `canonical` holds its
-- language-independent form per field, e.g. {"status": "taken"}. NULL when nothing was
-- recognised. Rows stored before this migration get it when reprocessed.
ALTER TABLE health_events ADD COLUMN canonical jsonb;
ALTER TABLE ecg_recordings ADD COLUMN canonical jsonb;
