/**
 * electrocardiograms/*.csv: a header of `name,value` lines (Recorded Date,
 * Classification, Sample Rate, Unit, ...; in the phone's language), a blank
 * line, then one voltage per line. Becomes the same `ecg` record as the app's
 * `ecg` array: voltages as an array, the classification recognised in any
 * language the translation table knows. The header lines naming the person
 * (Name, Date of Birth) are not kept: the user is known, and those are not a reading.
 */
import { parseHaeDate } from '../dates.js';
import type { EcgRecord, ParseContext, ParsedItem } from '../records.js';
import { checkTimeWindow, isProblem } from '../sample-fields.js';
import { canonicalValues } from '../translations/canonical.js';

const TYPE = 'ecg';
const PERSONAL = new Set(['name', 'date of birth']);
const SAMPLE_RATE = /^\s*([\d.,]+)\s*(hertz|hz)\b/i;

export function parseEcgCsv(file: string, text: string, ctx: ParseContext): ParsedItem {
  const reject = (reason: string): ParsedItem => ({
    ok: false,
    rejection: { type: TYPE, reason: `${file}: ${reason}`, category: 'format', sample: { file } },
  });
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header: [string, string][] = [];
  let i = 0;
  for (; i < lines.length && lines[i]!.trim() !== ''; i++) {
    const [name, value] = splitCsvLine(lines[i]!);
    header.push([name, value]);
  }
  const voltages: number[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const voltage = Number(line.split(',')[0]);
    if (!Number.isFinite(voltage)) return reject(`line ${i + 1} is not a voltage: ${JSON.stringify(line.slice(0, 40))}`);
    voltages.push(voltage);
  }

  // By meaning rather than by (translated) name: the first full date and time, the first rate in hertz.
  const recorded = header.map(([, value]) => parseHaeDate(value)).find((date) => date !== null && !date.dateOnly) ?? null;
  if (recorded === null) return reject('no recorded date and time in its header');
  const start = checkTimeWindow(recorded, 'Recorded Date', ctx);
  if (isProblem(start)) return { ok: false, rejection: { type: TYPE, reason: `${file}: ${start.reason}`, category: start.category, sample: { file } } };
  const rate = header.map(([, value]) => SAMPLE_RATE.exec(value)).find((match) => match !== null);
  const samplingFrequency = rate ? Number(rate[1]!.replace(',', '.')) : null;
  const byName = new Map(header.map(([name, value]) => [name.toLowerCase(), value]));
  const classification = byName.get('classification') ?? header[3]?.[1] ?? null;
  const unit = byName.get('unit') ?? null;

  const data: Record<string, unknown> = { file };
  for (const [name, value] of header) if (!PERSONAL.has(name.toLowerCase())) data[name] = value;
  if (classification !== null) data.classification = classification;
  const durationMs = samplingFrequency ? (voltages.length / samplingFrequency) * 1000 : 0;
  const record: EcgRecord = {
    kind: 'ecg',
    type: TYPE,
    start: start.instant,
    end: new Date(start.instant.getTime() + Math.round(durationMs)),
    source: '',
    raw: { file },
    classification,
    averageHeartRate: null,
    samplingFrequency,
    voltages,
    voltageTimes: voltages.map(() => null),
    voltageUnit: unit,
    data,
    canonical: canonicalValues(TYPE, data),
  };
  return { ok: true, record };
}

/** `name,value` where value may be quoted ("Jan 1, 1980"). */
function splitCsvLine(line: string): [string, string] {
  const comma = line.indexOf(',');
  if (comma < 0) return [line.trim(), ''];
  const value = line.slice(comma + 1).trim();
  return [line.slice(0, comma).trim(), value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/""/g, '"') : value];
}
