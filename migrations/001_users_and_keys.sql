-- Users and API keys are small reference tables with global unique keys.

CREATE TABLE settings (
  name text PRIMARY KEY,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id),
  name text NOT NULL,
  -- HMAC-SHA-256 of the key under the server pepper: finds a key with one indexed query.
  lookup text NOT NULL UNIQUE,
  -- argon2id hash of the key; the key itself is never stored.
  hash text NOT NULL,
  scopes text[] NOT NULL CHECK (scopes <@ ARRAY['ingest', 'read', 'admin']::text[] AND cardinality(scopes) > 0),
  format text NOT NULL CHECK (format IN ('generated', 'uuid')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  action text NOT NULL,
  key_id uuid,
  user_id uuid,
  ip text,
  user_agent text,
  reason text
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
