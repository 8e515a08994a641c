/** Shapes shared by many routes, declared once for validation, types and the OpenAPI document. */
import { z } from 'zod';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../shared/errors.js';
import { isKeyRecord } from '../../storage/repositories/keyset.js';

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
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Items per page (1-1000)').meta({ example: 100 }),
  cursor: z.string().max(512).optional().describe('The `next` value of the previous page').meta({ example: 'eyJyZWNlaXZlZF9hdCI6IjIwMjQtMDMtMTNUMDQ6MTk6NTQuMDAwWiJ9' }),
});

/** Times in responses are ISO 8601 in UTC; the drivers give Dates (pg) or strings. */
export const isoTime = (value: Date | string) => (value instanceof Date ? value : new Date(value)).toISOString();
export const isoTimeOrNull = (value: Date | string | null | undefined) => (value === null || value === undefined ? null : isoTime(value));

/** Opaque keyset cursors: base64url of the last item's sort key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * `{items, next}` from the `limit + 1` rows a list read: the first `limit` as
 * items, and a cursor after the last of them when there was one more.
 */
export function listFrom<R, T>(rows: R[], limit: number, view: (row: R) => T, cursorOf: (last: R) => unknown): { items: T[]; next: string | null } {
  const page = rows.slice(0, limit);
  return { items: page.map(view), next: rows.length > limit ? encodeCursor(cursorOf(page.at(-1)!)) : null };
}

/**
 * The cursor's value, only when `check` says this endpoint could have issued it:
 * anything else reaching SQL would be a 500 (a text where a uuid goes, 2024-02-31).
 */
export function decodeCursor<T>(cursor: string | undefined, check: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw new AppError('INVALID_CURSOR', 'cursor: not a cursor this endpoint issued; pass the `next` value of the previous page unchanged');
}

/** Cursors of the lists ordered by (created_at, id): users and keys. */
export const isCreatedKey = isKeyRecord({ created_at: 'timestamptz', id: 'uuid' });

/** A page of a list, `{items, next}`: described, with the item's own example as the example page. */
export const listSchema = <T extends z.ZodType>(item: T, description: string) =>
  z
    .object({ items: z.array(item), next: z.string().nullable().describe('Cursor of the next page, or null on the last page') })
    .meta({ description, example: { items: [z.globalRegistry.get(item)?.example], next: null } });

export const uuidParam = z.object({ id: z.uuid().describe('The id, as the list or the creation answer gave it').meta({ example: '0b6c7a52-3f0e-4c1e-9a55-3d2f1e0c9b11' }) });

/**
 * One error response as the OpenAPI document shows it: the Error shape with a
 * description of when it happens and an example of the body (the message is one
 * the server really gives).
 */
export const errorResponse = (code: ErrorCode, when: string, message: string) =>
  errorSchema.meta({ description: when, example: { error: { code, message, request_id: '6a1f0c2e-9d4b-4b7e-8f3a-2c5d7e9b1a40' } } });

/** Responses every authenticated route can give. */
export const authErrors = {
  400: errorResponse('BAD_REQUEST', 'A parameter or the body is not what this endpoint takes; the message names which and why (INVALID_CURSOR: a cursor this list did not issue)', 'querystring.limit: Too big: expected number to be <=1000'),
  401: errorResponse(
    'UNAUTHORIZED',
    'No key, or a key that is malformed, unknown, revoked or expired (with WWW-Authenticate: Bearer)',
    'API key is not valid (unknown or revoked)',
  ),
  403: errorResponse('FORBIDDEN', 'The key is valid but lacks the scope this endpoint needs', 'this key lacks the read scope'),
  429: errorResponse(
    'RATE_LIMITED',
    'Rate limit reached, for this key or, after too many requests without a valid key, for this address; Retry-After says when to try again',
    'rate limit reached for this API key (1000 per 3600 s); retry in 1480 s',
  ),
  503: errorResponse(
    'DATABASE_UNAVAILABLE',
    'The database cannot be reached right now; nothing was stored by this request (an upload is never half-written). Retry-After says when to try again',
    'the database is unavailable right now; retry after the seconds in Retry-After',
  ),
} as const;

/** Any of the three headers the app may be configured with. */
export const SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { xApiKey: [] }, { apiKey: [] }];
