/**
 * Erasing data, each kind in one transaction with its audit entry:
 *
 * - a type's samples in a time range (start inclusive, end exclusive, on each
 *   sample's start, as the lists filter), remembered in `erasures` so that a
 *   reprocess of an archive received before the erasure skips them: erased data
 *   never comes back from an archive, while the archives, which hold other data
 *   too, are kept;
 * - one archived upload's body (the samples it wrote stay);
 * - a whole user: samples, archives, rejections, erasures, keys and the user row.
 *   The audit log keeps that it happened, under the user's id, never the email.
 *
 * DELETE on a partitioned parent reaches every monthly partition its range
 * condition does not prune, on PostgreSQL and PGlite alike. The summary's rollups
 * of erased samples are recomputed in the same transaction (src/storage/rollups.ts).
 */
import type { KeyService } from '../auth/key-service.js';
import { EVENT_TYPES, type HealthRecord } from '../ingest/records.js';
import { canonicalMetricName } from '../ingest/metric-names.js';
import type { Database, Queryable } from './database.js';
import { archiveRepository } from './repositories/archive.js';
import { auditRepository } from './repositories/audit.js';
import { recomputeRollups } from './rollups.js';
import { TABLES, type TableSpec } from './samples/tables.js';

/** Who asked, for the audit log: a key over HTTP, or the CLI (no key). */
export interface Actor {
  keyId: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface ErasedUser {
  samples: number;
  ingestions: number;
  rejections: number;
  keys: number;
  /** The ids of the deleted keys (their cached verifications are forgotten). */
  keyIds: string[];
}

/** Tables of a workout's points, deleted with their workout (they have no foreign key). */
const WORKOUT_PARTS = ['workout_route_points', 'workout_series'] as const;

/** Where a by_type name's samples are kept, and the name its erasure is recorded under (a metric's canonical name). */
function storedAs(type: string): { name: string; tables: { table: string; typeColumn?: string }[] } {
  if (type === 'workouts') return { name: type, tables: [{ table: 'workouts' }] };
  if ((EVENT_TYPES as readonly string[]).includes(type)) return { name: type, tables: [{ table: TABLES.event.table, typeColumn: 'type' }] };
  const named = (Object.values(TABLES) as TableSpec[]).filter((spec) => 'name' in spec.type && spec.type.name === type);
  if (named.length > 0) return { name: type, tables: named.map((spec) => ({ table: spec.table })) };
  // Every other name is a quantity metric, unknown names included (stored as sent).
  const metric = canonicalMetricName(type);
  return { name: metric, tables: [{ table: TABLES.quantity.table, typeColumn: 'metric' }] };
}

async function count(tx: Queryable, sql: string, params: unknown[]): Promise<number> {
  const result = await tx.query<{ n: number }>(`WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`, params);
  return result.rows[0]!.n;
}

/** Deletes the samples of a type whose start is in [start, end); a workout goes with its route and series. */
async function deleteSamples(tx: Queryable, userId: string, type: string, start: string, end: string): Promise<number> {
  const range = 'user_id = $1 AND start_at >= $2::timestamptz AND start_at < $3::timestamptz';
  const stored = storedAs(type);
  let deleted = 0;
  for (const { table, typeColumn } of stored.tables) {
    if (table === 'workouts') {
      const parts = WORKOUT_PARTS.map((part, i) => `p${i} AS (DELETE FROM ${part} p USING gone WHERE p.user_id = $1 AND p.workout_id = gone.id)`);
      const result = await tx.query<{ n: number }>(
        `WITH gone AS (DELETE FROM workouts WHERE ${range} RETURNING id), ${parts.join(', ')} SELECT count(*)::int AS n FROM gone`,
        [userId, start, end],
      );
      deleted += result.rows[0]!.n;
    } else if (typeColumn) {
      deleted += await count(tx, `DELETE FROM ${table} WHERE ${range} AND ${typeColumn} = $4`, [userId, start, end, stored.name]);
      await recomputeRollups(tx, userId, table, stored.name, start, end);
    } else {
      deleted += await count(tx, `DELETE FROM ${table} WHERE ${range}`, [userId, start, end]);
      await recomputeRollups(tx, userId, table, null, start, end);
    }
  }
  return deleted;
}

/** Every table holding a user's rows, children before parents (rejections before archives, keys before the user). */
const USER_TABLES = {
  samples: [...new Set((Object.values(TABLES) as TableSpec[]).map((spec) => spec.table)), 'workouts'],
  parts: [...WORKOUT_PARTS, 'erasures', 'raw_ingestion_chunks', 'quantity_rollups', 'heart_rate_rollups', 'rollups_pending'],
} as const;

export function createErasureService(deps: { db: Database; keys: Pick<KeyService, 'forget'> }) {
  const { db, keys } = deps;
  const auditOf = (tx: Queryable, actor: Actor, action: string, userId: string, reason: string) =>
    auditRepository(tx).record({ action, keyId: actor.keyId, userId, ip: actor.ip, userAgent: actor.userAgent, reason: actor.keyId ? reason : `${reason}; by CLI` });

  return {
    /** Deletes a type's samples whose start is in [start, end) and remembers the erasure; returns how many went. */
    async samples(userId: string, request: { type: string; start: string; end: string }, actor: Actor): Promise<number> {
      const type = storedAs(request.type).name;
      return db.transaction(async (tx) => {
        const deleted = await deleteSamples(tx, userId, type, request.start, request.end);
        await tx.query('INSERT INTO erasures (user_id, type, start_at, end_at, deleted) VALUES ($1, $2, $3, $4, $5)', [
          userId,
          type,
          request.start,
          request.end,
          deleted,
        ]);
        await auditOf(tx, actor, 'data.deleted', userId, `${type} starting in [${request.start}, ${request.end}): ${deleted} sample(s)`);
        return deleted;
      });
    },

    /**
     * Deletes one archived upload's body (and the original JSON its kept rejections
     * carry, which are parts of it); the samples it wrote stay. Null when there is no
     * such ingestion of this user's (`userId` null: any user's, for admins); 'busy'
     * while it is queued or being processed.
     */
    async body(userId: string | null, id: string, actor: Actor): Promise<{ user_id: string } | 'busy' | null> {
      return db.transaction(async (tx) => {
        const found = await tx.query<{ user_id: string; status: string }>(
          'SELECT user_id, status FROM raw_ingestions WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) FOR UPDATE',
          [id, userId],
        );
        const row = found.rows[0];
        if (!row) return null;
        if (row.status === 'queued' || row.status === 'processing') return 'busy';
        await tx.query(
          // A body refused unread was never kept: nothing is deleted, and body_deleted_at stays NULL.
          `UPDATE raw_ingestions SET body = NULL, body_encoding = NULL,
             body_deleted_at = CASE WHEN body_encoding IS NOT NULL THEN now() ELSE body_deleted_at END
           WHERE user_id = $1 AND id = $2`,
          [row.user_id, id],
        );
        await archiveRepository(tx).deleteChunks(row.user_id, id);
        await tx.query('UPDATE rejected_samples SET sample = NULL WHERE user_id = $1 AND ingestion_id = $2', [row.user_id, id]);
        await auditOf(tx, actor, 'ingestion.body_deleted', row.user_id, `ingestion ${id}`);
        return { user_id: row.user_id };
      });
    },

    /** Erases a user and everything of theirs; null when there is no such user. Their keys stop working at once. */
    async user(userId: string, actor: Actor): Promise<ErasedUser | null> {
      const erased = await db.transaction(async (tx) => {
        const exists = await tx.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
        if (exists.rows.length === 0) return null;
        let samples = 0;
        for (const table of USER_TABLES.samples) samples += await count(tx, `DELETE FROM ${table} WHERE user_id = $1`, [userId]);
        for (const table of USER_TABLES.parts) await tx.query(`DELETE FROM ${table} WHERE user_id = $1`, [userId]);
        const rejections = await count(tx, 'DELETE FROM rejected_samples WHERE user_id = $1', [userId]);
        const ingestions = await count(tx, 'DELETE FROM raw_ingestions WHERE user_id = $1', [userId]);
        const keys = await tx.query<{ id: string }>('DELETE FROM api_keys WHERE user_id = $1 RETURNING id', [userId]);
        await tx.query('DELETE FROM users WHERE id = $1', [userId]);
        const erased = { samples, ingestions, rejections, keys: keys.rows.length, keyIds: keys.rows.map((row) => row.id) };
        await auditOf(
          tx,
          actor,
          'user.erased',
          userId,
          `${samples} sample(s), ${ingestions} archived upload(s), ${rejections} rejection(s), ${erased.keys} key(s)`,
        );
        return erased;
      });
      if (erased) await keys.forget(erased.keyIds);
      return erased;
    },
  };
}

export type ErasureService = ReturnType<typeof createErasureService>;

/**
 * The erasures a reprocess of one ingestion must honour: those its owner made after
 * it was received. A record matches when its type is the erased one and its start is
 * in the erased range, the rule the deletion used.
 */
export async function erasuresFor(db: Queryable, userId: string, ingestionId: string): Promise<(record: HealthRecord) => string | null> {
  const result = await db.query<{ type: string; start_at: Date; end_at: Date; erased_at: Date }>(
    `SELECT e.type, e.start_at, e.end_at, e.erased_at FROM erasures e
     JOIN raw_ingestions r ON r.user_id = e.user_id AND r.id = $2
     WHERE e.user_id = $1 AND e.erased_at > r.received_at`,
    [userId, ingestionId],
  );
  const erasures = result.rows.map((row) => ({ ...row, start: new Date(row.start_at).getTime(), end: new Date(row.end_at).getTime() }));
  if (erasures.length === 0) return () => null;
  return (record) => {
    const time = record.start.getTime();
    const hit = erasures.find((e) => e.type === record.type && time >= e.start && time < e.end);
    return hit ? `erased by its owner on ${new Date(hit.erased_at).toISOString()} (${hit.type} starting in [${new Date(hit.start).toISOString()}, ${new Date(hit.end).toISOString()}))` : null;
  };
}
