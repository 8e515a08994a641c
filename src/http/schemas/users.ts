/** The user shape, declared once for the API, the OpenAPI document and the CLI's output. */
import { z } from 'zod';
import type { UserRow } from '../../storage/repositories/users.js';
import { isoTime } from './common.js';

export const userSchema = z
  .object({ id: z.uuid(), email: z.string(), active: z.boolean(), created_at: z.string() })
  .meta({ id: 'User', example: { id: 'b167adc8-85aa-45b5-9000-dab05cfe94e0', email: 'me@example.com', active: true, created_at: '2024-03-13T04:00:00.000Z' } });

export const userView = (row: UserRow) => ({ id: row.id, email: row.email, active: row.active, created_at: isoTime(row.created_at) });
