/** API key shapes, declared once for validation, the OpenAPI document, and the CLI's output. */
import { z } from 'zod';
import type { ApiKeyRow } from '../../storage/repositories/api-keys.js';
import { isoTime, isoTimeOrNull } from './common.js';

export const scopeSchema = z.enum(['ingest', 'read', 'admin', 'delete']);

export const keySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    scopes: z.array(scopeSchema),
    user_id: z.uuid(),
    format: z.enum(['generated', 'uuid']),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    last_used_at: z.string().nullable().describe('Updated at most once a minute'),
  })
  .meta({
    id: 'ApiKey',
    example: {
      id: '8e21b2fd-cd63-4c6a-9d49-b6c6c2668f58',
      name: 'iphone',
      scopes: ['ingest', 'read'],
      user_id: 'b167adc8-85aa-45b5-9000-dab05cfe94e0',
      format: 'generated',
      created_at: '2024-03-13T04:00:00.000Z',
      expires_at: null,
      revoked_at: null,
      last_used_at: '2024-03-14T06:01:12.000Z',
    },
  });

export const createSchema = z
  .object({
    name: z.string().min(1).max(200).describe('What the key is for'),
    scopes: z.array(scopeSchema).min(1).describe('No wider than the calling key\'s own; admin includes ingest, read and delete; delete (erasing data) is only granted when named'),
    user_id: z.uuid().optional().describe('Admins only: the user the key is for (default: the caller\'s own user)'),
    email: z.string().min(3).max(320).optional().describe('Admins only: the user the key is for, by email'),
    expires_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe("When the key stops working (in the future, and no later than the calling key's own expiry; default: the calling key's expiry, if any)"),
    uuid: z.uuid().optional().describe('Admins only: register this UUID as the key (the old "Auto Export" configuration); matched case-insensitively'),
  })
  .meta({ example: { name: 'iphone', scopes: ['ingest', 'read'], email: 'me@example.com' } });

export const createdSchema = keySchema
  .extend({ key: z.string().describe('The key itself: shown in this answer only') })
  .meta({
    id: 'CreatedApiKey',
    example: { ...(z.globalRegistry.get(keySchema)?.example as object), key: 'hea_PVIs4XjfuoHTPs2FB01ZMiMW-Y3O8Z9VwdcYad3SXMA', last_used_at: null },
  });

export function keyView(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    user_id: row.user_id,
    format: row.format,
    created_at: isoTime(row.created_at),
    expires_at: isoTimeOrNull(row.expires_at),
    revoked_at: isoTimeOrNull(row.revoked_at),
    last_used_at: isoTimeOrNull(row.last_used_at),
  };
}
