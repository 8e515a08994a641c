/**
 * The archive and the ingestion queue: raw_ingestions rows are written before
 * anything is parsed, and workers in any process take queued ones with
 * FOR UPDATE SKIP LOCKED. A row whose worker stopped reporting (its lease ran
 * out) is taken over, so accepted work survives a crash or a restart.
 */
import type { Rejection } from '../../ingest/records.js';
import type { Queryable } from '../database.js';
import { UNCLAIMED_USER } from './users.js';

export type IngestionStatus = 'queued' | 'processing' | 'completed' | 'failed';
export type IngestionSource = 'http' | 'mqtt' | 'cli';

export interface Counts {
  received: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

export interface IngestionRow {
  id: string;
  user_id: string;
  source: IngestionSource;
  topic: string | null;
  key_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  headers: Record<string, string>;
  size_bytes: number;
  sha256: string | null;
  format: 'hae' | 'standard' | 'apple_health' | null;
  status: IngestionStatus;
  counts: Counts | null;
  by_type: Record<string, Counts> | null;
  error: { code: string; message: string } | null;
  /** Rejections counted but not kept in rejected_samples (beyond REJECTIONS_KEPT_MAX). */
  rejections_not_kept: number;
  rejected_by_category: Record<string, number> | null;
  attempts: number;
  received_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  body_deleted_at: Date | null;
  /** 'gzip': one value in raw_ingestions.body (before chunks); 'gzip_chunks': in raw_ingestion_chunks; null: no body. */
  body_encoding: 'gzip' | 'gzip_chunks' | null;
  /** Decompressed bytes read and samples walked so far, while processing (else null). */
  progress_bytes: number | null;
  progress_samples: number | null;
}

export interface NewIngestion {
  /** The id its archive's chunks were written under (see archive.ts); null: no body kept. */
  id: string | null;
  userId: string;
  source: IngestionSource;
  topic?: string | null;
  keyId?: string | null;
  clientIp?: string | null;
  userAgent?: string | null;
  headers: Record<string, string>;
  sizeBytes: number;
  sha256: string | null;
  status: IngestionStatus;
  /** Known before processing for an upload made to a format's own route (Apple Health imports). */
  format?: 'apple_health' | null;
  error?: { code: string; message: string } | null;
  /** Claim it for this process right away (the request path processes it inline). */
  leaseSeconds?: number;
}

const columns = (alias = '') =>
  ['id', 'user_id', 'source', 'topic', 'key_id', 'client_ip', 'user_agent', 'headers', 'sha256', 'format', 'status', 'counts',
    'by_type', 'error', 'rejections_not_kept', 'rejected_by_category', 'attempts', 'received_at', 'started_at', 'finished_at',
    'body_deleted_at', 'body_encoding']
    .map((column) => alias + column)
    .concat(['size_bytes', 'progress_bytes', 'progress_samples'].map((column) => `${alias}${column}::float8 AS ${column}`))
    .join(', ');
const COLUMNS = columns();

export function ingestionsRepository(db: Queryable) {
  return {
    async archive(input: NewIngestion): Promise<IngestionRow> {
      const claimed = input.leaseSeconds !== undefined;
      const result = await db.query<IngestionRow>(
        `INSERT INTO raw_ingestions (user_id, source, topic, key_id, client_ip, user_agent, headers, id, body_encoding,
           size_bytes, sha256, status, error, attempts, started_at, lease_until, finished_at, progress_bytes, progress_samples, format)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, coalesce($8::uuid, gen_random_uuid()), CASE WHEN $8::uuid IS NOT NULL THEN 'gzip_chunks' END,
           $9, $10, $11, $12::jsonb, $13, CASE WHEN $13 > 0 THEN now() END, now() + make_interval(secs => $14::float8),
           CASE WHEN $11 = 'failed' THEN now() END, CASE WHEN $13 > 0 THEN 0 END, CASE WHEN $13 > 0 THEN 0 END, $15)
         RETURNING ${COLUMNS}`,
        [
          input.userId,
          input.source,
          input.topic ?? null,
          input.keyId ?? null,
          input.clientIp ?? null,
          input.userAgent ?? null,
          JSON.stringify(input.headers),
          input.id,
          input.sizeBytes,
          input.sha256,
          claimed ? 'processing' : input.status,
          input.error ? JSON.stringify(input.error) : null,
          claimed ? 1 : 0,
          input.leaseSeconds ?? 0,
          input.format ?? null,
        ],
      );
      return result.rows[0]!;
    },

    /** Bytes of Apple Health exports a user uploaded since `since` (IMPORT_MAX_MB_PER_USER_PER_DAY). */
    async importedBytesSince(userId: string, since: Date): Promise<number> {
      const result = await db.query<{ bytes: number }>(
        `SELECT coalesce(sum(size_bytes), 0)::float8 AS bytes FROM raw_ingestions
         WHERE user_id = $1 AND format = 'apple_health' AND sha256 IS NOT NULL AND received_at >= $2`,
        [userId, since.toISOString()],
      );
      return result.rows[0]!.bytes;
    },

    /**
     * Makes the rest of the caller's transaction the only one deciding on these bytes of
     * this user: two identical uploads finishing at once would otherwise both find no
     * earlier one and both be recorded.
     */
    async lockSha(userId: string, sha256: string): Promise<void> {
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text || $2::text, 0))', [userId, sha256]);
    },

    /**
     * The earlier ingestion of the same bytes by the same user: one that did not fail
     * if there is one, else the newest failed one (which the caller runs again in place
     * rather than archiving the same body twice).
     */
    async findDuplicate(userId: string, sha256: string): Promise<IngestionRow | null> {
      const result = await db.query<IngestionRow>(
        `SELECT ${COLUMNS} FROM raw_ingestions WHERE user_id = $1 AND sha256 = $2
         ORDER BY status = 'failed', received_at DESC LIMIT 1`,
        [userId, sha256],
      );
      return result.rows[0] ?? null;
    },

    /** By id, only when it belongs to `userId` (null: any user, for admins). */
    async find(id: string, userId: string | null): Promise<IngestionRow | null> {
      const result = await db.query<IngestionRow>(
        `SELECT ${COLUMNS} FROM raw_ingestions WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)`,
        [id, userId],
      );
      return result.rows[0] ?? null;
    },

    /** The body of an ingestion archived before chunks (body_encoding 'gzip'). */
    async body(userId: string, id: string): Promise<Buffer | null> {
      const result = await db.query<{ body: Uint8Array | null }>('SELECT body FROM raw_ingestions WHERE user_id = $1 AND id = $2', [
        userId,
        id,
      ]);
      const body = result.rows[0]?.body;
      return body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : null;
    },

    /** Newest first, keyset-paginated on (received_at, id). */
    async list(userId: string, limit: number, before?: { received_at: string; id: string }): Promise<IngestionRow[]> {
      const result = await db.query<IngestionRow>(
        `SELECT ${COLUMNS} FROM raw_ingestions WHERE user_id = $1
           AND ($3::timestamptz IS NULL OR (received_at, id) < ($3::timestamptz, $4::uuid))
         ORDER BY received_at DESC, id DESC LIMIT $2`,
        [userId, limit, before?.received_at ?? null, before?.id ?? null],
      );
      return result.rows;
    },

    /** Takes the oldest queued ingestion of at most `maxBytes`, or one whose worker's lease ran out. */
    async claimNext(leaseSeconds: number, maxBytes = Infinity): Promise<IngestionRow | null> {
      const result = await db.query<IngestionRow>(
        `UPDATE raw_ingestions r
         SET status = 'processing', started_at = now(), attempts = attempts + 1,
             lease_until = now() + make_interval(secs => $1::float8), progress_bytes = 0, progress_samples = 0
         FROM (SELECT user_id, id FROM raw_ingestions
               WHERE status IN ('queued', 'processing') AND (status = 'queued' OR lease_until < now())
                 AND ($2::float8 IS NULL OR size_bytes <= $2)
               ORDER BY received_at LIMIT 1 FOR UPDATE SKIP LOCKED) next
         WHERE r.user_id = next.user_id AND r.id = next.id
         RETURNING ${columns('r.')}`,
        [leaseSeconds, Number.isFinite(maxBytes) ? maxBytes : null],
      );
      return result.rows[0] ?? null;
    },

    /** Claims one given ingestion for reprocessing, whatever its state: a new run, its attempts counted from one. */
    async claim(userId: string, id: string, leaseSeconds: number): Promise<IngestionRow | null> {
      const result = await db.query<IngestionRow>(
        `UPDATE raw_ingestions SET status = 'processing', started_at = now(), finished_at = NULL, attempts = 1,
           counts = NULL, by_type = NULL, error = NULL, rejections_not_kept = 0, rejected_by_category = NULL, lease_until = now() + make_interval(secs => $3::float8),
           progress_bytes = 0, progress_samples = 0
         WHERE user_id = $1 AND id = $2 AND body_encoding IS NOT NULL
           AND NOT (status = 'processing' AND lease_until > now())
         RETURNING ${COLUMNS}`,
        [userId, id, leaseSeconds],
      );
      return result.rows[0] ?? null;
    },

    /** The worker's heartbeat: it is still at work, and this far. */
    async extendLease(userId: string, id: string, leaseSeconds: number, progress?: { bytesDone: number; samplesDone: number }): Promise<void> {
      await db.query(
        `UPDATE raw_ingestions SET lease_until = now() + make_interval(secs => $3::float8),
           progress_bytes = coalesce($4, progress_bytes), progress_samples = coalesce($5, progress_samples)
         WHERE user_id = $1 AND id = $2 AND status = 'processing'`,
        [userId, id, leaseSeconds, progress?.bytesDone ?? null, progress?.samplesDone ?? null],
      );
    },

    async finish(
      userId: string,
      id: string,
      outcome: {
        status: 'completed' | 'failed' | 'queued';
        format?: 'hae' | 'standard' | 'apple_health' | null;
        counts?: Counts | null;
        byType?: Record<string, Counts> | null;
        error?: { code: string; message: string } | null;
        rejectionsNotKept?: number;
        rejectedByCategory?: Record<string, number> | null;
      },
    ): Promise<IngestionRow | null> {
      const result = await db.query<IngestionRow>(
        `UPDATE raw_ingestions SET status = $3, format = coalesce($4, format), counts = $5::jsonb, by_type = $6::jsonb,
           error = $7::jsonb, rejections_not_kept = $8, rejected_by_category = $9::jsonb, lease_until = NULL,
           progress_bytes = NULL, progress_samples = NULL,
           finished_at = CASE WHEN $3 = 'queued' THEN NULL ELSE now() END
         WHERE user_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [
          userId,
          id,
          outcome.status,
          outcome.format ?? null,
          outcome.counts ? JSON.stringify(outcome.counts) : null,
          outcome.byType ? JSON.stringify(outcome.byType) : null,
          outcome.error ? JSON.stringify(outcome.error) : null,
          outcome.rejectionsNotKept ?? 0,
          outcome.rejectedByCategory ? JSON.stringify(outcome.rejectedByCategory) : null,
        ],
      );
      return result.rows[0] ?? null;
    },

    async clearRejections(userId: string, id: string): Promise<void> {
      await db.query('DELETE FROM rejected_samples WHERE user_id = $1 AND ingestion_id = $2', [userId, id]);
    },

    async insertRejections(userId: string, id: string, firstSeq: number, rejections: Rejection[]): Promise<void> {
      await db.query(
        `INSERT INTO rejected_samples (user_id, ingestion_id, seq, type, category, reason, sample)
         SELECT $2, $3, r.seq, r.type, r.category, r.reason, r.sample
         FROM json_to_recordset($1::json) AS r(seq int, type text, category text, reason text, sample jsonb)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(rejections.map((r, i) => ({ ...r, seq: firstSeq + i, sample: r.sample ?? null }))), userId, id],
      );
    },

    async rejections(
      userId: string,
      id: string,
      limit: number,
      afterSeq = -1,
    ): Promise<{ seq: number; type: string; category: string; reason: string; sample: unknown }[]> {
      const result = await db.query<{ seq: number; type: string; category: string; reason: string; sample: unknown }>(
        `SELECT seq, type, category, reason, sample FROM rejected_samples
         WHERE user_id = $1 AND ingestion_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
        [userId, id, afterSeq, limit],
      );
      return result.rows;
    },

    /**
     * Ids to run again: one, every failed one, or all with a body. In bulk, never the
     * unclaimed user's: those MQTT messages named no usable key, so they belong to no one.
     */
    /** `type`: only ingestions that carried samples of that by_type name (e.g. sleep_analysis, to bring back overwritten naps). */
    async idsToReprocess(filter: { id?: string; failed?: boolean; type?: string }): Promise<{ user_id: string; id: string; size_bytes: string | number }[]> {
      const result = await db.query<{ user_id: string; id: string; size_bytes: string | number }>(
        `SELECT user_id, id, size_bytes FROM raw_ingestions WHERE body_encoding IS NOT NULL
           AND ($1::uuid IS NULL OR id = $1) AND (NOT $2 OR status = 'failed')
           AND ($4::text IS NULL OR jsonb_exists(by_type, $4))
           AND ($1::uuid IS NOT NULL OR user_id <> $3) ORDER BY received_at`,
        [filter.id ?? null, filter.failed ?? false, UNCLAIMED_USER.id, filter.type ?? null],
      );
      return result.rows;
    },

    /** Unfinished ingestions (queued or processing) and the age of the oldest, for /metrics; uses the pending index. */
    async queueState(): Promise<{ depth: number; oldestSeconds: number }> {
      const result = await db.query<{ depth: number; oldest_seconds: number }>(
        `SELECT count(*)::int AS depth, coalesce(extract(epoch FROM now() - min(received_at)), 0)::float8 AS oldest_seconds
         FROM raw_ingestions WHERE status IN ('queued', 'processing')`,
      );
      const row = result.rows[0]!;
      return { depth: row.depth, oldestSeconds: Math.max(0, row.oldest_seconds) };
    },

    /** Distinct users with an ingestion received within the last `hours`, for /metrics. */
    async activeUsers(hours: number): Promise<number> {
      const result = await db.query<{ n: number }>(
        `SELECT count(DISTINCT user_id)::int AS n FROM raw_ingestions WHERE received_at > now() - make_interval(hours => $1::int)`,
        [hours],
      );
      return result.rows[0]!.n;
    },
  };
}

export type IngestionsRepository = ReturnType<typeof ingestionsRepository>;
