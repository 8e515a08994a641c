/** Shapes shared by many routes, declared once for validation, types and the OpenAPI document. */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../../shared/errors.js';

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      request_id: z.string(),
    }),
  })
  .meta({ id: 'Error', example: { error: { code: 'NOT_FOUND', message: 'ingestion not found', request_id: 'b3c1…' } } });

export const countsSchema = z
  .object({
    received: z.number().int(),
    inserted: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    rejected: z.number().int(),
  })
  .meta({ id: 'Counts' });

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});

/** Opaque keyset cursors: base64url of the last item's sort key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw Object.assign(new Error('cursor: not a cursor this endpoint issued'), { statusCode: 400 });
}

export const uuidParam = z.object({ id: z.uuid() });

/** Responses every authenticated route can give. */
export const authErrors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 429: errorSchema } as const;

/** Any of the three headers the app may be configured with. */
export const SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { xApiKey: [] }, { apiKey: [] }];
