-- The built-in owner of MQTT messages that arrive on a topic naming no usable API key
-- (unknown, revoked, expired, or without the ingest scope). They are archived as failed
-- under this user, so nothing received disappears; only admins see them, via
-- GET /api/v1/ingestions?user_id=00000000-0000-4000-8000-000000000000.
-- Inactive, so a key issued to it would never authenticate; the .invalid address can
-- never be a real person's. The id is repeated in src/storage/repositories/users.ts.
INSERT INTO users (id, email, active) VALUES ('00000000-0000-4000-8000-000000000000', 'unclaimed@invalid', false)
ON CONFLICT DO NOTHING;
