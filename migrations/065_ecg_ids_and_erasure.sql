-- An ECG recording gets a stable id, so one recording (with its voltages) can be
-- read by /api/v1/data/ecg/{id}; an upsert of the same identity keeps it.
ALTER TABLE ecg_recordings ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX ecg_recordings_user_id_idx ON ecg_recordings (user_id, id);

-- The `delete` scope: erasing data is granted on purpose, never with ingest or read.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
  CHECK (scopes <@ ARRAY['ingest', 'read', 'admin', 'delete']::text[] AND cardinality(scopes) > 0);

-- When the owner deleted an upload's body; the samples it wrote stay.
ALTER TABLE raw_ingestions ADD COLUMN body_deleted_at timestamptz;

-- What an owner erased (a type's samples in a time range). Archives received before
-- erased_at still hold those samples; a reprocess skips them, so erased data never
-- comes back from an archive. An upload received after the erasure stores them again.
CREATE TABLE erasures (
  user_id uuid NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  type text NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  deleted int NOT NULL,
  erased_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, id),
  CHECK (end_at > start_at)
);
