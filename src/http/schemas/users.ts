/** The user shape, declared once for the API, the OpenAPI document and the CLI's output. */
import { z } from 'zod';
import type { UserRow } from '../../storage/repositories/users.js';
import { isoTime } from './common.js';

export const userSchema = z
  .object({ id: z.uuid(), email: z.string(), active: z.boolean(), created_at: z.string() })
  .meta({ id: 'User', example: { id: 'b167adc8-85aa-45b5-9000-dab05cfe94e0', email: 'me@example.com', active: true, created_at: '2024-03-13T04:00:00.000Z' } });

export const userView = (row: UserRow) => ({ id: row.id, email: row.email, active: row.active, created_at: isoTime(row.created_at) });

/** One line of the audit log (GET /admin/audit). */
export const auditSchema = z
  .object({
    at: z.string(),
    action: z.string(),
    key_id: z.string().nullable(),
    user_id: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({
    id: 'AuditEntry',
    example: {
      at: '2024-03-13T04:00:00.000Z',
      action: 'key.created',
      key_id: '8e21b2fd-cd63-4c6a-9d49-b6c6c2668f58',
      user_id: 'b167adc8-85aa-45b5-9000-dab05cfe94e0',
      ip: '192.0.2.10',
      user_agent: 'curl/8.5.0',
      reason: 'by key 2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c4d',
    },
  });
