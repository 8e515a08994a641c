/**
 * Export formats, written batch by batch as the records stream out of the
 * database, so nothing ever holds the whole export:
 *
 * - `json`: the standard ingest format, `{"samples": [...]}`, which POST
 *   /api/v1/ingest takes back unchanged (export one user, import into another);
 * - `ndjson`: one standard-format sample per line;
 * - `csv`: one sample per row; the columns most samples share, and `details`
 *   holding the rest of the sample as JSON (a workout's route, an event's data).
 *
 * Records are written through `toStandardSample`. Rows of the two per-minute
 * tables (nearly every sample of a year) are written straight into their line,
 * byte for byte what `toStandardSample` of their record gives (a test compares
 * the two on every field's edge cases): no record, no Date, no object per row.
 */
import type { HealthRecord } from '../ingest/records.js';
import { SINGLE_TYPE_KINDS } from '../ingest/records.js';
import { toStandardSample } from '../ingest/standard/parse.js';
import type { ExportBatch, HeartRateLineRow, QuantityLineRow } from '../storage/repositories/export.js';

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

const json = JSON.stringify;
/** Empty CSV fields from `min` (heart rate's) to `night_date`, and from `systolic` on, with `details`. */
const AFTER_SENT_UNIT = ',,,,,,,,,,,';
const AFTER_CONTEXT = ',,,,,,,';

/** A quantity row as its standard-format JSON: the fields toStandardSample writes, in its order, with its omissions. */
export function quantityJson(r: QuantityLineRow): string {
  const sent = r.sent_value === r.value && r.sent_unit === r.unit ? '' : `,"sent_value":${json(r.sent_value)},"sent_unit":${json(r.sent_unit)}`;
  const qualifier = r.qualifier === '' ? '' : `,"qualifier":${json(r.qualifier)}`;
  const extra = r.extra === null ? '' : `,"extra":${json(r.extra)}`;
  return `{"kind":"quantity","type":${json(r.metric)},"start":"${r.start_at}","end":"${r.end_at}","source":${json(r.source)}${qualifier},"value":${json(r.value)},"unit":${json(r.unit)}${sent}${extra}}`;
}

/** A heart-rate row as its standard-format JSON. */
export function heartRateJson(r: HeartRateLineRow): string {
  return `{"kind":"heart_rate","type":"${SINGLE_TYPE_KINDS.heart_rate}","start":"${r.start_at}","end":"${r.end_at}","source":${json(r.source)},"min":${json(r.min)},"avg":${json(r.avg)},"max":${json(r.max)},"context":${json(r.context)}}`;
}

/** A quantity row as its CSV row; `extra`, which has no column, goes in `details`. */
export function quantityCsv(r: QuantityLineRow): string {
  const sent = r.sent_value === r.value && r.sent_unit === r.unit ? ',' : `${csvField(r.sent_value)},${csvField(r.sent_unit)}`;
  const details = r.extra === null ? '' : csvField({ extra: r.extra });
  return `quantity,${csvField(r.metric)},${r.start_at},${r.end_at},${csvField(r.source)},${csvField(r.qualifier)},${csvField(r.value)},${csvField(r.unit)},${sent}${AFTER_SENT_UNIT}${details}\r\n`;
}

/** A heart-rate row as its CSV row. */
export function heartRateCsv(r: HeartRateLineRow): string {
  return `heart_rate,${SINGLE_TYPE_KINDS.heart_rate},${r.start_at},${r.end_at},${csvField(r.source)},,,,,,${csvField(r.min)},${csvField(r.avg)},${csvField(r.max)},${csvField(r.context)}${AFTER_CONTEXT}\r\n`;
}

/** A batch's samples as the format's pieces: JSON objects, or CSV rows (with their line ends). */
function piecesOf(batch: ExportBatch, format: 'json' | 'csv'): string[] {
  switch (batch.kind) {
    case 'quantity':
      return batch.rows.map(format === 'json' ? quantityJson : quantityCsv);
    case 'heart_rate':
      return batch.rows.map(format === 'json' ? heartRateJson : heartRateCsv);
    case 'records':
      return batch.records.map(format === 'json' ? (record) => json(toStandardSample(record)) : csvRow);
  }
}

/** The export's text, one chunk per batch. */
export async function* encodeExport(batches: AsyncIterable<ExportBatch>, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') {
    yield `${[...CSV_COLUMNS, 'details'].join(',')}\r\n`;
    for await (const batch of batches) yield piecesOf(batch, 'csv').join('');
    return;
  }
  if (format === 'ndjson') {
    for await (const batch of batches) yield `${piecesOf(batch, 'json').join('\n')}\n`;
    return;
  }
  yield '{"samples":[\n';
  let first = true;
  for await (const batch of batches) {
    const pieces = piecesOf(batch, 'json');
    if (pieces.length === 0) continue;
    const text = pieces.join(',\n');
    yield first ? text : `,\n${text}`;
    first = false;
  }
  yield '\n]}\n';
}
