/**
 * An upload parsed a slice at a time, in two reads of the body.
 *
 * The first read checks everything that refuses a body before anything of it
 * is stored (UTF-8, the hostile-shape limits, the syntax, the format) and, on
 * the way, notes where each entry of each array the parsers read starts and
 * ends: `data.*` of a Health Auto Export payload (and, inside a large entry of
 * `data.metrics`, each point of its `data`), or the standard format's
 * `samples`. Consecutive entries are grouped into slices of at most
 * SLICE_ENTRIES entries or SLICE_BYTES bytes; the plan holds only the slices'
 * offsets (and the few bytes of a split metric entry other than its points).
 *
 * The second read cuts those slices out of the body, parses each with
 * JSON.parse and hands it to the same parsers a whole payload goes through,
 * with the index of its first entry, so every sample, reason and count is the
 * same as if the body had been parsed at once: the arrays in the parsers'
 * order, a repeated key's last value, an entry of `metrics` that names itself
 * after its points. Memory follows the slice, not the upload.
 */
import { AppError } from '../shared/errors.js';
import { HAE_ARRAYS, rejectUnknownArray } from './hae/parse.js';
import { parseHaeMetricPoints } from './hae/metrics.js';
import { JsonScanner, Utf8Check, type JsonLimits, type JsonListener, type ValueKind } from './json-guard.js';
import type { ParseContext, ParsedItem } from './records.js';
import { parseStandardSamples } from './standard/parse.js';

export type Format = 'hae' | 'standard';

/** At most this many entries per slice... */
export const SLICE_ENTRIES = 4096;
/** ...and about this many bytes: a metric entry larger than this is parsed a slice of its points at a time. */
export const SLICE_BYTES = 1024 * 1024;

export function neitherFormat(): AppError {
  return new AppError(
    'UNPROCESSABLE_PAYLOAD',
    'body is JSON but in neither accepted format: expected a Health Auto Export payload {"data": {"metrics": [...], ...}} or the standard format {"samples": [...]}',
  );
}

/** A part of the body parsed at once, `[start, end)` in bytes. */
export type Unit =
  /** Entries `first`... of the array `key` under `data` (key null: the standard format's `samples`). */
  | { kind: 'entries'; key: string | null; start: number; end: number; first: number }
  /** The whole value of `data[key]` when it is not an array (its parser rejects it). */
  | { kind: 'value'; key: string; start: number; end: number }
  /** Points `first`... of the metric entry `metrics[index]`, whose other fields are `shell`. */
  | { kind: 'points'; metric: { index: number; shell: Buffer }; start: number; end: number; first: number };

export interface Plan {
  format: Format;
  /** In the order they are parsed. */
  units: Unit[];
  /** The body ranges to read, in order, to meet the units: a new read where a unit lies before the last. */
  reads: { from: number; to: number }[];
}

/** Groups consecutive entries of one array into units. */
class Slicer {
  private open: { start: number; end: number; first: number; count: number } | null = null;
  /** The index of the next entry. */
  next = 0;
  constructor(private readonly emit: (start: number, end: number, first: number) => void) {}

  add(start: number, end: number): void {
    const open = (this.open ??= { start, end, first: this.next, count: 0 });
    open.end = end;
    open.count++;
    this.next++;
    if (open.count >= SLICE_ENTRIES || end - open.start >= SLICE_BYTES) this.flush();
  }

  flush(): void {
    if (this.open) this.emit(this.open.start, this.open.end, this.open.first);
    this.open = null;
  }
}

interface Range {
  start: number;
  end: number;
  first: number;
}

type Entry = { kind: 'array'; units: Unit[] } | { kind: 'value'; unit: Unit } | { kind: 'ignored' };

/**
 * What the first read learns (a JsonListener of the scanner). Depths: 0 the
 * body, 1 its members (`data`, `samples`), 2 the arrays under `data` and the
 * entries of `samples`, 3 the entries of those arrays, 4 the fields of a
 * metric entry, 5 its points.
 */
class Planner implements JsonListener {
  readonly depth = 5;
  readonly keyDepths = [1, 2, 4];
  private rootIsObject = false;
  private keys: string[] = [];
  /** The last `data` member's arrays by key (null: the last `data` is not an object). */
  private data: Map<string, Entry> | null | undefined;
  private samples: Unit[] | null | undefined;
  private inData = false;
  private samplesSlicer: Slicer | null = null;
  private entrySlicer: Slicer | null = null;
  /** Where the value being read at each depth started. */
  private readonly starts: number[] = [];

  /** The metric entry being read, with its bytes other than its points' and its points' slices. */
  private metric: { start: number; parts: Buffer[]; points: Range[]; pointsSlicer: Slicer | null; lastDataIsArray: boolean } | null = null;
  private captureFrom = -1;
  private bytes: Uint8Array = new Uint8Array(0);
  private offset = 0;

  chunk(bytes: Uint8Array, offset: number): void {
    if (this.captureFrom >= 0) this.capture(this.offset + this.bytes.length);
    this.bytes = bytes;
    this.offset = offset;
    if (this.captureFrom >= 0) this.captureFrom = offset;
  }

  key(depth: number, name: string): void {
    this.keys[depth] = name;
  }

  begin(depth: number, offset: number, kind: ValueKind): void {
    this.starts[depth] = offset;
    switch (depth) {
      case 0:
        this.rootIsObject = kind === 'object';
        return;
      case 1:
        if (!this.rootIsObject) return;
        if (this.keys[1] === 'data') {
          this.data = kind === 'object' ? new Map() : null;
          this.inData = kind === 'object';
        } else if (this.keys[1] === 'samples') {
          const units: Unit[] = [];
          this.samples = kind === 'array' ? units : null;
          this.samplesSlicer = kind === 'array' ? new Slicer((start, end, first) => units.push({ kind: 'entries', key: null, start, end, first })) : null;
        }
        return;
      case 2:
        if (this.inData) this.beginDataMember(this.keys[2]!, kind);
        return;
      case 3:
        if (!this.entrySlicer) return;
        if (this.keys[2] === 'metrics' && kind === 'object') {
          this.metric = { start: offset, parts: [], points: [], pointsSlicer: null, lastDataIsArray: false };
          this.captureFrom = offset;
        }
        return;
      case 4: {
        if (!this.metric || this.keys[4] !== 'data') return;
        this.metric.lastDataIsArray = kind === 'array';
        if (kind !== 'array') return;
        // The points are left out of the entry's own bytes: `"data": [` ... `]` stays, empty.
        this.capture(offset + 1);
        this.captureFrom = -1;
        const points: Range[] = (this.metric.points = []);
        this.metric.pointsSlicer = new Slicer((start, end, first) => points.push({ start, end, first }));
      }
    }
  }

  end(depth: number, end: number): void {
    switch (depth) {
      case 1:
        this.inData = false;
        this.samplesSlicer?.flush();
        this.samplesSlicer = null;
        return;
      case 2:
        if (this.samplesSlicer) this.samplesSlicer.add(this.starts[2]!, end);
        else if (this.inData) this.endDataMember(end);
        return;
      case 3:
        if (this.entrySlicer) this.endEntry(end);
        return;
      case 4:
        if (this.metric?.pointsSlicer && this.captureFrom < 0) {
          this.metric.pointsSlicer.flush();
          this.captureFrom = end - 1;
        }
        return;
      case 5:
        if (this.metric?.pointsSlicer && this.captureFrom < 0) this.metric.pointsSlicer.add(this.starts[5]!, end);
    }
  }

  private beginDataMember(key: string, kind: ValueKind): void {
    if (kind !== 'array') return;
    const units: Unit[] = [];
    this.data!.set(key, { kind: 'array', units });
    this.entrySlicer = new Slicer((start, end, first) => units.push({ kind: 'entries', key, start, end, first }));
  }

  private endDataMember(end: number): void {
    const key = this.keys[2]!;
    if (this.entrySlicer) {
      this.entrySlicer.flush();
      this.entrySlicer = null;
    } else if (HAE_ARRAYS.has(key)) {
      this.data!.set(key, { kind: 'value', unit: { kind: 'value', key, start: this.starts[2]!, end } });
    } else {
      this.data!.set(key, { kind: 'ignored' }); // not an array: no samples, as with a whole payload
    }
  }

  private endEntry(end: number): void {
    const slicer = this.entrySlicer!;
    const metric = this.metric;
    if (metric) {
      this.capture(end);
      this.captureFrom = -1;
      this.metric = null;
    }
    if (!metric || !metric.lastDataIsArray || end - metric.start < SLICE_BYTES) {
      slicer.add(this.starts[3]!, end);
      return;
    }
    // A large entry: its points a slice at a time, with the rest of it (name, units) beside each.
    slicer.flush();
    const units = (this.data!.get('metrics') as { units: Unit[] }).units;
    const about = { index: slicer.next, shell: Buffer.concat(metric.parts) };
    for (const { start, end: last, first } of metric.points) units.push({ kind: 'points', metric: about, start, end: last, first });
    slicer.next++;
  }

  /** Keeps the metric entry's bytes from captureFrom to `until`, within the current chunk. */
  private capture(until: number): void {
    if (!this.metric || this.captureFrom < 0) return;
    const from = Math.max(this.captureFrom, this.offset) - this.offset;
    this.metric.parts.push(Buffer.from(this.bytes.subarray(from, until - this.offset)));
  }

  plan(): Plan {
    let format: Format;
    let units: Unit[];
    if (this.rootIsObject && this.data) {
      format = 'hae';
      units = haeUnits(this.data);
    } else if (this.rootIsObject && this.samples) {
      format = 'standard';
      units = this.samples;
    } else {
      throw neitherFormat();
    }
    const reads: Plan['reads'] = [];
    for (const unit of units) {
      const last = reads.at(-1);
      if (last && unit.start >= last.to) last.to = unit.end;
      else reads.push({ from: unit.start, to: unit.end });
    }
    return { format, units, reads };
  }
}

/** The known arrays in the parsers' order, then the others in the order JavaScript lists an object's keys. */
function haeUnits(data: Map<string, Entry>): Unit[] {
  const keys = [...data.keys()];
  const isIndex = (key: string) => /^(0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;
  const others = [...keys.filter((key) => !HAE_ARRAYS.has(key) && isIndex(key)).sort((a, b) => Number(a) - Number(b)), ...keys.filter((key) => !HAE_ARRAYS.has(key) && !isIndex(key))];
  const units: Unit[] = [];
  for (const key of [...[...HAE_ARRAYS.keys()].filter((key) => data.has(key)), ...others]) {
    const entry = data.get(key)!;
    if (entry.kind === 'array') units.push(...entry.units);
    else if (entry.kind === 'value') units.push(entry.unit);
  }
  return units;
}

/**
 * The first read: every chunk of the body in order, then `finish` gives the
 * plan or throws the refusal (not UTF-8 first, then a broken limit, then a
 * syntax error, then a format neither parser reads), as parsing the whole body
 * at once would.
 */
export class BodyScan {
  private readonly utf8 = new Utf8Check();
  private readonly planner = new Planner();
  private readonly scanner: JsonScanner;
  private size = 0;

  constructor(limits: JsonLimits) {
    this.scanner = new JsonScanner(limits, { strict: true, listener: this.planner });
  }

  write(bytes: Uint8Array): void {
    this.size += bytes.length;
    this.utf8.write(bytes);
    this.scanner.write(bytes);
  }

  finish(): Plan {
    if (this.size === 0) throw new AppError('INVALID_JSON', 'body is empty; expected JSON');
    this.utf8.end();
    const notUtf8 = this.utf8.refusal();
    if (notUtf8) throw notUtf8;
    this.scanner.end();
    return this.planner.plan();
  }
}

/** The second read: cuts the plan's units out of the chunks of its reads. */
export class SliceCutter {
  private next = 0;
  private parts: Uint8Array[] = [];

  constructor(private readonly units: Unit[]) {}

  /** The units this chunk completes, with their text; `offset` is the chunk's first byte in the body. */
  *take(bytes: Uint8Array, offset: number): Generator<{ unit: Unit; text: string }> {
    const chunkEnd = offset + bytes.length;
    for (let unit = this.units[this.next]; unit && unit.start < chunkEnd; unit = this.units[this.next]) {
      if (unit.start < offset && this.parts.length === 0) return; // it lies before this read: the next read starts there
      this.parts.push(bytes.subarray(Math.max(unit.start, offset) - offset, Math.min(unit.end, chunkEnd) - offset));
      if (unit.end > chunkEnd) return;
      const text = Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.next++;
      yield { unit, text };
    }
  }

  get done(): boolean {
    return this.next === this.units.length;
  }
}

/** Every sample of one unit, through the parser a whole payload's array goes through. */
export function parseUnit(unit: Unit, text: string, ctx: ParseContext): Iterable<ParsedItem> {
  switch (unit.kind) {
    case 'value':
      return HAE_ARRAYS.get(unit.key)!(JSON.parse(text), ctx);
    case 'points':
      return parseHaeMetricPoints(JSON.parse(unit.metric.shell.toString('utf8')) as Record<string, unknown>, unit.metric.index, parseEntries(text), unit.first, ctx);
    default: {
      const entries = parseEntries(text);
      if (unit.key === null) return parseStandardSamples(entries, ctx, unit.first);
      const parse = HAE_ARRAYS.get(unit.key);
      return parse ? parse(entries, ctx, unit.first) : rejectUnknownArray(unit.key, entries, unit.first);
    }
  }
}

function parseEntries(text: string): unknown[] {
  return JSON.parse(`[${text}]`) as unknown[];
}
