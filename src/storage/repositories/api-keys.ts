import type { Queryable } from '../database.js';

/** `admin` includes every other scope; `delete` (erasing data) is never granted unless asked for. */
export type Scope = 'ingest' | 'read' | 'admin' | 'delete';

export interface ApiKeyRow {
  id: string;
  user_id: string;
  name: string;
  scopes: Scope[];
  format: 'generated' | 'uuid';
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, user_id, name, scopes, format, created_at, expires_at, revoked_at, last_used_at';

export function apiKeysRepository(db: Queryable) {
  return {
    async insert(key: {
      userId: string;
      name: string;
      lookup: string;
      hash: string;
      scopes: Scope[];
      format: 'generated' | 'uuid';
      expiresAt: string | null;
    }): Promise<ApiKeyRow | null> {
      // null when a key with this lookup exists (a chosen key registered twice, possibly at once).
      const result = await db.query<ApiKeyRow>(
        `INSERT INTO api_keys (user_id, name, lookup, hash, scopes, format, expires_at)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7) ON CONFLICT (lookup) DO NOTHING RETURNING ${COLUMNS}`,
        [key.userId, key.name, key.lookup, key.hash, key.scopes, key.format, key.expiresAt],
      );
      return result.rows[0] ?? null;
    },
    /** One indexed query on the lookup value; never a scan over all keys. */
    async findByLookup(lookup: string): Promise<(ApiKeyRow & { hash: string; user_active: boolean }) | null> {
      const result = await db.query<ApiKeyRow & { hash: string; user_active: boolean }>(
        `SELECT k.id, k.user_id, k.name, k.scopes, k.format, k.created_at, k.expires_at, k.revoked_at, k.last_used_at,
                k.hash, u.active AS user_active
         FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.lookup = $1`,
        [lookup],
      );
      return result.rows[0] ?? null;
    },
    /** By public id, with whether its user is active (MQTT names keys by id in the topic). */
    async findByIdWithUser(id: string): Promise<(ApiKeyRow & { user_active: boolean }) | null> {
      const result = await db.query<ApiKeyRow & { user_active: boolean }>(
        `SELECT k.id, k.user_id, k.name, k.scopes, k.format, k.created_at, k.expires_at, k.revoked_at, k.last_used_at,
                u.active AS user_active
         FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1`,
        [id],
      );
      return result.rows[0] ?? null;
    },
    async findById(id: string): Promise<ApiKeyRow | null> {
      const result = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
      return result.rows[0] ?? null;
    },
    async list(userId: string | null, limit: number, after?: { created_at: string; id: string }): Promise<ApiKeyRow[]> {
      const result = await db.query<ApiKeyRow>(
        `SELECT ${COLUMNS} FROM api_keys
         WHERE ($1::uuid IS NULL OR user_id = $1)
           AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
         ORDER BY created_at, id LIMIT $2`,
        [userId, limit, after?.created_at ?? null, after?.id ?? null],
      );
      return result.rows;
    },
    async revoke(id: string): Promise<ApiKeyRow | null> {
      const result = await db.query<ApiKeyRow>(
        `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
      );
      return result.rows[0] ?? null;
    },
    async touch(id: string): Promise<void> {
      await db.query(
        `UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [id],
      );
    },
    /** Whether a usable key without the admin scope exists: none until a phone's key is created. */
    async hasActiveUserKey(): Promise<boolean> {
      const result = await db.query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM api_keys WHERE NOT 'admin' = ANY (scopes) AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > now())) AS found`,
      );
      return result.rows[0]?.found ?? false;
    },

    async hasActiveAdmin(): Promise<boolean> {
      const result = await db.query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM api_keys WHERE 'admin' = ANY (scopes) AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > now())) AS found`,
      );
      return result.rows[0]?.found ?? false;
    },
  };
}
