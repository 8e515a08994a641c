/**
 * Export formats, written batch by batch as the records stream out of the
 * database, so nothing ever holds the whole export:
 *
 * - `json`: the standard ingest format, `{"samples": [...]}`, which POST
 *   /api/v1/ingest takes back unchanged (export one user, import into another);
 * - `ndjson`: one standard-format sample per line;
 * - `csv`: one sample per row; the columns most samples share, and `details`
 *   holding the rest of the sample as JSON (a workout's route, an event's data).
 */
import type { HealthRecord } from '../ingest/records.js';
import { toStandardSample } from '../ingest/standard/parse.js';

export type ExportFormat = 'json' | 'ndjson' | 'csv';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export const CSV_COLUMNS = [
  'kind', 'type', 'start', 'end', 'source', 'qualifier', 'value', 'unit', 'sent_value', 'sent_unit',
  'min', 'avg', 'max', 'context', 'systolic', 'diastolic', 'pulse', 'stage', 'hours', 'night_date',
] as const;
const IN_COLUMNS = new Set<string>(CSV_COLUMNS);

/** RFC 4180: quoted when it holds a comma, quote or line break. */
function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvRow(record: HealthRecord): string {
  const sample = toStandardSample(record) as Record<string, unknown>;
  const details: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(sample)) if (!IN_COLUMNS.has(field)) details[field] = value;
  const fields = CSV_COLUMNS.map((column) => csvField(sample[column]));
  fields.push(Object.keys(details).length > 0 ? csvField(details) : '');
  return `${fields.join(',')}\r\n`;
}

/** The export's text, one chunk per batch of records. */
export async function* encodeExport(batches: AsyncIterable<HealthRecord[]>, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') {
    yield `${[...CSV_COLUMNS, 'details'].join(',')}\r\n`;
    for await (const records of batches) yield records.map(csvRow).join('');
    return;
  }
  if (format === 'ndjson') {
    for await (const records of batches) yield records.map((record) => `${JSON.stringify(toStandardSample(record))}\n`).join('');
    return;
  }
  yield '{"samples":[\n';
  let first = true;
  for await (const records of batches) {
    if (records.length === 0) continue;
    const text = records.map((record) => JSON.stringify(toStandardSample(record))).join(',\n');
    yield first ? text : `,\n${text}`;
    first = false;
  }
  yield '\n]}\n';
}
