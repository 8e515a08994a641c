-- Archive first: every upload is kept byte for byte before it is parsed.
-- Every key of per-user data starts with user_id, so the schema can be distributed by user.

CREATE TABLE raw_ingestions (
  user_id uuid NOT NULL REFERENCES users (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  source text NOT NULL CHECK (source IN ('http', 'mqtt', 'cli')),
  topic text,
  key_id uuid,
  client_ip text,
  user_agent text,
  headers jsonb NOT NULL DEFAULT '{}',
  body bytea,
  body_encoding text CHECK (body_encoding IN ('gzip')),
  size_bytes bigint NOT NULL DEFAULT 0,
  sha256 text,
  format text CHECK (format IN ('hae', 'standard')),
  status text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
  counts jsonb,
  by_type jsonb,
  error jsonb,
  attempts int NOT NULL DEFAULT 0,
  lease_until timestamptz,
  received_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (user_id, id)
);
CREATE UNIQUE INDEX raw_ingestions_id_idx ON raw_ingestions (id);
CREATE INDEX raw_ingestions_user_recent_idx ON raw_ingestions (user_id, received_at DESC, id DESC);
CREATE INDEX raw_ingestions_user_sha_idx ON raw_ingestions (user_id, sha256);
CREATE INDEX raw_ingestions_pending_idx ON raw_ingestions (received_at) WHERE status IN ('queued', 'processing');

CREATE TABLE rejected_samples (
  user_id uuid NOT NULL,
  ingestion_id uuid NOT NULL,
  seq int NOT NULL,
  type text NOT NULL,
  category text NOT NULL,
  reason text NOT NULL,
  sample jsonb,
  PRIMARY KEY (user_id, ingestion_id, seq),
  FOREIGN KEY (user_id, ingestion_id) REFERENCES raw_ingestions (user_id, id) ON DELETE CASCADE
);
