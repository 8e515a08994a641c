import { z } from 'zod';
import type { IngestionRow } from '../../storage/repositories/ingestions.js';
import { countsSchema } from './common.js';

export const ingestionSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['queued', 'processing', 'completed', 'failed']),
    status_url: z.string(),
    format: z.enum(['hae', 'standard']).nullable(),
    counts: countsSchema.nullable(),
    by_type: z.record(z.string(), countsSchema).nullable(),
    duplicate_of: z.uuid().optional(),
    source: z.enum(['http', 'mqtt', 'cli']),
    topic: z.string().nullable(),
    size_bytes: z.number(),
    sha256: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    received_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .meta({
    id: 'Ingestion',
    example: {
      id: '0b6c7a52-3f0e-4c1e-9a55-3d2f1e0c9b11',
      status: 'completed',
      status_url: '/api/v1/ingestions/0b6c7a52-3f0e-4c1e-9a55-3d2f1e0c9b11',
      format: 'hae',
      counts: { received: 18, inserted: 15, updated: 0, unchanged: 0, rejected: 3 },
      by_type: { step_count: { received: 4, inserted: 2, updated: 0, unchanged: 0, rejected: 2 } },
      source: 'http',
      topic: null,
      size_bytes: 3446,
      sha256: '9f2c…',
      headers: { 'automation-name': 'Health to server' },
      received_at: '2024-03-13T04:19:54.000Z',
      started_at: '2024-03-13T04:19:54.010Z',
      finished_at: '2024-03-13T04:19:54.210Z',
      error: null,
    },
  });

export type IngestionView = z.infer<typeof ingestionSchema>;

const isoOrNull = (date: Date | null) => (date ? new Date(date).toISOString() : null);

export function ingestionView(row: IngestionRow, duplicateOf?: string): IngestionView {
  return {
    id: row.id,
    status: row.status,
    status_url: `/api/v1/ingestions/${row.id}`,
    format: row.format,
    counts: row.counts,
    by_type: row.by_type,
    ...(duplicateOf ? { duplicate_of: duplicateOf } : {}),
    source: row.source,
    topic: row.topic,
    size_bytes: Number(row.size_bytes),
    sha256: row.sha256,
    headers: row.headers,
    received_at: new Date(row.received_at).toISOString(),
    started_at: isoOrNull(row.started_at),
    finished_at: isoOrNull(row.finished_at),
    error: row.error,
  };
}

/** 200 once finished (completed or failed), 202 while a worker still has it. */
export function ingestionStatusCode(row: IngestionRow): 200 | 202 {
  return row.status === 'completed' || row.status === 'failed' ? 200 : 202;
}
