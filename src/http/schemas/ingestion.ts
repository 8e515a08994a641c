import { z } from 'zod';
import type { IngestionRow } from '../../storage/repositories/ingestions.js';
import { StandardPayloadSchema } from '../../ingest/standard/schema.js';
import { countsSchema, isoTime, isoTimeOrNull } from './common.js';

export const ingestionSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['queued', 'processing', 'completed', 'failed']),
    status_url: z.string(),
    format: z.enum(['hae', 'standard', 'apple_health']).nullable(),
    counts: countsSchema.nullable(),
    by_type: z.record(z.string(), countsSchema).nullable(),
    rejected_by_category: z
      .record(z.string(), z.number().int())
      .nullable()
      .describe('Rejected samples per check that refused them (range, missing_field, format, unit, time), kept or not'),
    rejections_not_kept: z
      .number()
      .int()
      .describe('Rejections counted but not kept in full: those after the first REJECTIONS_KEPT_MAX (0 when every rejection was kept)'),
    duplicate_of: z.uuid().optional().describe('An identical body was received before: this is that earlier ingestion, and nothing was written again'),
    duplicate: z.literal(true).optional().describe('Present (true) exactly when duplicate_of is'),
    source: z.enum(['http', 'mqtt', 'cli']),
    topic: z.string().nullable(),
    size_bytes: z.number(),
    sha256: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    received_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    body_deleted_at: z.string().nullable().describe('When the owner deleted the archived body (the samples it wrote stay); null while it is kept'),
    progress: z
      .object({
        bytes_done: z.number().describe('Decompressed bytes of the body read so far'),
        bytes_total: z.number().describe('The decompressed size of the body (size_bytes)'),
        samples_done: z.number().int().describe('Samples walked so far (stored, unchanged or rejected)'),
      })
      .nullable()
      .describe('How far processing has come, updated about once a second while it runs; null when not processing'),
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
      rejected_by_category: { range: 2, format: 1 },
      rejections_not_kept: 0,
      source: 'http',
      topic: null,
      size_bytes: 3446,
      sha256: '9f2c…',
      headers: { 'automation-name': 'Health to server' },
      received_at: '2024-03-13T04:19:54.000Z',
      started_at: '2024-03-13T04:19:54.010Z',
      finished_at: '2024-03-13T04:19:54.210Z',
      error: null,
      body_deleted_at: null,
      progress: null,
    },
  });

/** The 202 answer of an ingest or a reprocess: accepted, not finished. */
export const ingestionAccepted = ingestionSchema.meta({
  description: 'Archived and still being processed (it took longer than INGEST_SYNC_BUDGET_MS); a worker finishes it: poll status_url',
  example: {
    id: '56278aeb-7b73-4682-9abd-d7c622dc8fa6',
    status: 'processing',
    status_url: '/api/v1/ingestions/56278aeb-7b73-4682-9abd-d7c622dc8fa6',
    format: null,
    counts: null,
    by_type: null,
    rejected_by_category: null,
    rejections_not_kept: 0,
    source: 'http',
    topic: null,
    size_bytes: 1760497,
    sha256: 'df81f6dc1db32d33a041fe9ebd4175c897029f7e68d089c22c4127303cd632b5',
    headers: { 'automation-name': 'Health to server' },
    received_at: '2024-03-13T04:19:54.000Z',
    started_at: '2024-03-13T04:19:54.000Z',
    finished_at: null,
    error: null,
    body_deleted_at: null,
    progress: { bytes_done: 1760497, bytes_total: 1760497, samples_done: 15000 },
  },
});

export type IngestionView = z.infer<typeof ingestionSchema>;

export function ingestionView(row: IngestionRow, duplicateOf?: string): IngestionView {
  return {
    id: row.id,
    status: row.status,
    status_url: `/api/v1/ingestions/${row.id}`,
    format: row.format,
    counts: row.counts,
    by_type: row.by_type,
    rejected_by_category: row.rejected_by_category,
    rejections_not_kept: row.rejections_not_kept,
    ...(duplicateOf ? { duplicate_of: duplicateOf, duplicate: true as const } : {}),
    source: row.source,
    topic: row.topic,
    size_bytes: Number(row.size_bytes),
    sha256: row.sha256,
    headers: row.headers,
    received_at: isoTime(row.received_at),
    started_at: isoTimeOrNull(row.started_at),
    finished_at: isoTimeOrNull(row.finished_at),
    error: row.error,
    body_deleted_at: isoTimeOrNull(row.body_deleted_at),
    progress:
      row.status === 'processing' && row.progress_bytes !== null
        ? { bytes_done: row.progress_bytes, bytes_total: Number(row.size_bytes), samples_done: row.progress_samples ?? 0 }
        : null,
  };
}

/** 200 once finished (completed or failed), 202 while a worker still has it. */
export function ingestionStatusCode(row: IngestionRow): 200 | 202 {
  return row.status === 'completed' || row.status === 'failed' ? 200 : 202;
}

// ---------- what POST /ingest takes (for the OpenAPI document only) ----------

const jsonObject = z.record(z.string(), z.unknown());
const haeArray = (what: string) => z.array(jsonObject).optional().describe(what);

/** The app's payload, loosely: each entry is validated on its own by the parser, never the payload as a whole. */
const haePayload = z
  .object({
    data: z.object({
      metrics: z
        .array(
          z.object({
            name: z.string().describe('Metric name as the app sends it (step_count, heart_rate, sleep_analysis, ...); unknown names are stored too'),
            units: z.string().describe('The unit the user chose in the app (count, mi, km, kcal, kJ, degF, ...)'),
            data: z.array(jsonObject).describe('Points: {date, qty, source}, or {date, Min, Avg, Max} for heart_rate, {date, systolic, diastolic} for blood_pressure, ...'),
          }),
        )
        .optional(),
      workouts: haeArray('Workouts, export version 1 or 2, with route and series'),
      stateOfMind: haeArray('State of mind entries'),
      medications: haeArray('Medications'),
      symptoms: haeArray('Symptoms'),
      cycleTracking: haeArray('Cycle tracking'),
      ecg: haeArray('ECG recordings with their voltages'),
      heartRateNotifications: haeArray('High, low and irregular heart-rate notifications'),
    }),
  })
  .meta({ id: 'HaePayload', description: 'A Health Auto Export REST API payload (JSON, export version 1 or 2). Any array may be missing or empty.' });

const HAE_EXAMPLE = {
  data: {
    metrics: [
      {
        name: 'step_count',
        units: 'count',
        data: [
          { date: '2024-03-14 01:23:00 -0400', qty: 20, source: 'Apple Watch' },
          { date: '2024-03-14 03:43:00 -0400', qty: 17, source: 'Apple Watch' },
        ],
      },
      { name: 'heart_rate', units: 'count/min', data: [{ date: '2024-03-14 00:02:00 -0400', Min: 58, Avg: 61, Max: 66, source: 'Apple Watch' }] },
    ],
  },
};

const STANDARD_EXAMPLE = {
  samples: [
    { kind: 'quantity', type: 'step_count', start: '2024-03-14T05:23:00Z', end: '2024-03-14T05:24:00Z', source: 'Apple Watch', value: 20, unit: 'count' },
    { kind: 'heart_rate', type: 'heart_rate', start: '2024-03-14T04:02:00Z', source: 'Apple Watch', min: 58, avg: 61, max: 66 },
    { kind: 'blood_pressure', type: 'blood_pressure', start: '2024-03-14T12:30:00Z', source: 'Omron', systolic: 121, diastolic: 79, pulse: 64 },
  ],
};

/**
 * The body of POST /ingest: either format, detected from its top-level key. The
 * route reads the raw stream itself (to archive it byte for byte), so this shape
 * documents the body and never validates it.
 */
export const ingestBody = z.union([haePayload, StandardPayloadSchema.meta({ id: 'StandardPayload', description: 'The standard format, as GET /api/v1/export?format=json writes it' })]).meta({
  description: 'A Health Auto Export payload or the standard format; UTF-8 JSON, optionally with Content-Encoding: gzip; at most MAX_PAYLOAD_MB after decompression.',
  'x-examples': {
    hae: { summary: 'Health Auto Export (what the app sends)', value: HAE_EXAMPLE },
    standard: { summary: 'The standard format', value: STANDARD_EXAMPLE },
  },
});

/** A sample an ingestion refused, with why (GET /ingestions/:id/rejections). */
export const rejectionSchema = z
  .object({
    type: z.string().describe('The by_type name the sample was counted under'),
    category: z.string().describe('Which kind of check refused it: range, missing_field, format, unit or time; erased when a reprocess met a sample its owner had erased'),
    reason: z.string().describe('Why, naming the field and the limit'),
    sample: z.unknown().describe('The sample exactly as sent; null for an erased sample, and once the upload\'s body was deleted'),
  })
  .meta({
    id: 'Rejection',
    example: { type: 'step_count', category: 'range', reason: 'step_count[2]: qty must not be negative, got -4', sample: { qty: -4, date: '2024-09-21 09:00:00 +1000', source: 'iPhone' } },
  });
