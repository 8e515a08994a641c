import type { Queryable } from '../database.js';

export interface AuditEntry {
  action: string;
  keyId?: string | null;
  userId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  reason?: string | null;
}

export interface AuditRow {
  id: string;
  at: Date;
  action: string;
  key_id: string | null;
  user_id: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
}

export function auditRepository(db: Queryable) {
  return {
    async record(entry: AuditEntry): Promise<void> {
      await db.query(
        'INSERT INTO audit_log (action, key_id, user_id, ip, user_agent, reason) VALUES ($1, $2, $3, $4, $5, $6)',
        [entry.action, entry.keyId ?? null, entry.userId ?? null, entry.ip ?? null, entry.userAgent ?? null, entry.reason ?? null],
      );
    },
    /**
     * Newest first; `before` is the id of the last row of the previous page. The order
     * names the table's column: the select list's `id` is text, and ordering by that
     * alias put 9 before 10 and lost entries between pages.
     */
    async list(limit: number, before?: string): Promise<AuditRow[]> {
      const result = await db.query<AuditRow>(
        `SELECT id::text AS id, at, action, key_id, user_id, ip, user_agent, reason FROM audit_log
         WHERE $2::bigint IS NULL OR audit_log.id < $2::bigint ORDER BY audit_log.id DESC LIMIT $1`,
        [limit, before ?? null],
      );
      return result.rows;
    },
  };
}
