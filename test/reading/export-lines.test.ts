/**
 * The export writes heart-rate and quantity rows straight into their lines; those
 * lines must be, byte for byte, what the same rows give as records through
 * toStandardSample, in every format, so an export imports back exactly.
 */
import { describe, expect, it } from 'vitest';
import { encodeExport, type ExportFormat } from '../../src/export/encode.js';
import type { ExportBatch, HeartRateLineRow, QuantityLineRow } from '../../src/storage/repositories/export.js';
import { TABLES } from '../../src/storage/samples/tables.js';

const AT = '2024-03-13T04:19:54.123Z';
const LATER = '2024-03-13T05:19:54.000Z';
const awkward = ['', 'Apple Watch', "Sam's \u00a0Watch, \"Ultra\"", 'line\nbreak\r\n', 'emoji 🫀 and \u2028', '\\ backslash', '=1+1'];

const quantities: QuantityLineRow[] = [];
for (const [i, source] of awkward.entries()) {
  const value = [0, -0, 1.5e-7, 1e21, 123456.789, -42, 2 ** 53 + 2][i]!;
  quantities.push(
    { metric: 'step_count', start_at: AT, end_at: AT, source, qualifier: '', value, unit: 'count', sent_value: value, sent_unit: 'count', extra: null },
    { metric: 'insulin_delivery', start_at: AT, end_at: LATER, source, qualifier: source, value, unit: 'IU', sent_value: value, sent_unit: 'IU', extra: { reason: 'bolus', nested: [1, 'two', null], quote: '"' } },
    { metric: 'walking_running_distance', start_at: AT, end_at: AT, source, qualifier: '', value, unit: 'm', sent_value: value / 1609.344, sent_unit: 'mi', extra: null },
    { metric: 'body_mass', start_at: AT, end_at: AT, source, qualifier: 'a,b', value, unit: 'kg', sent_value: value, sent_unit: 'lb', extra: {} },
  );
}
const hearts: HeartRateLineRow[] = awkward.map((source, i) => ({
  start_at: AT, end_at: i % 2 ? LATER : AT, source, min: 40 + i, avg: 61.5 + i / 3, max: 1e21, context: [null, 'Active', 'Sedentary, "x"', 'Not Set'][i % 4]!,
}));

async function text(batches: ExportBatch[], format: ExportFormat): Promise<string> {
  let out = '';
  for await (const chunk of encodeExport((async function* () { yield* batches; })(), format)) out += chunk;
  return out;
}

describe('export lines written straight from rows', () => {
  for (const format of ['ndjson', 'json', 'csv'] as const) {
    it(`equal the records' ${format} for quantities and heart rate, edge cases included`, async () => {
      const direct = await text([{ kind: 'quantity', rows: quantities }, { kind: 'heart_rate', rows: hearts }], format);
      const viaRecords = await text(
        [
          { kind: 'records', records: quantities.map((row) => TABLES.quantity.fromRow({ ...row })) },
          { kind: 'records', records: hearts.map((row) => TABLES.heart_rate.fromRow({ ...row })) },
        ],
        format,
      );
      expect(direct).toBe(viaRecords);
      expect(direct.length).toBeGreaterThan(1000);
    });
  }
});
