import type { Queryable } from '../database.js';

export interface UserRow {
  id: string;
  email: string;
  active: boolean;
  created_at: Date;
}

const COLUMNS = 'id, email, active, created_at';

/** The built-in, inactive owner of MQTT messages for no usable key (migrations/040_unclaimed_user.sql). */
export const UNCLAIMED_USER = { id: '00000000-0000-4000-8000-000000000000', email: 'unclaimed@invalid' } as const;

export function usersRepository(db: Queryable) {
  return {
    async create(email: string): Promise<UserRow | null> {
      const result = await db.query<UserRow>(
        `INSERT INTO users (email) VALUES ($1) ON CONFLICT ((lower(email))) DO NOTHING RETURNING ${COLUMNS}`,
        [email],
      );
      return result.rows[0] ?? null;
    },
    async ensure(email: string): Promise<UserRow> {
      return (await this.create(email)) ?? (await this.findByEmail(email))!;
    },
    /** The migration creates it; this puts it back if the table was emptied since (as tests do). */
    async ensureUnclaimed(): Promise<void> {
      await db.query('INSERT INTO users (id, email, active) VALUES ($1, $2, false) ON CONFLICT DO NOTHING', [
        UNCLAIMED_USER.id,
        UNCLAIMED_USER.email,
      ]);
    },
    async findByEmail(email: string): Promise<UserRow | null> {
      const result = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email]);
      return result.rows[0] ?? null;
    },
    async findById(id: string): Promise<UserRow | null> {
      const result = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
      return result.rows[0] ?? null;
    },
    async list(limit: number, after?: { created_at: string; id: string }): Promise<UserRow[]> {
      const result = await db.query<UserRow>(
        `SELECT ${COLUMNS} FROM users
         WHERE $2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid)
         ORDER BY created_at, id LIMIT $1`,
        [limit, after?.created_at ?? null, after?.id ?? null],
      );
      return result.rows;
    },
  };
}
