/**
 * Hostile and malformed uploads, generated from edge-cases-metrics.json, each
 * with the outcome the server owes it: refused whole with a given 4xx, or
 * accepted with exactly its bad samples rejected.
 *
 * The fixture holds 18 samples, 3 of them bad (the point with no date, the
 * negative step count, systolic below diastolic; see the fixtures README), so
 * a mutation that spoils one good sample expects 18 received and 4 rejected.
 */
import { gzipSync } from 'node:zlib';
import { readFixture } from './fixtures.js';

export type Outcome = { status: 400 | 413 | 415 | 422 } | { received: number; rejected: number };

export interface HostileCase {
  family: string;
  name: string;
  body: Buffer;
  headers: Record<string, string>;
  expect: Outcome;
}

type Json = any;

const TEXT = readFixture('edge-cases-metrics.json').toString('utf8');
const FIXTURE: Json = JSON.parse(TEXT);
const RECEIVED = 18;
const REJECTED = 3;
/** metric name / point index of the three bad samples. */
const BAD = new Set(['blood_pressure/1', 'step_count/2', 'step_count/3']);
/** The fields each metric's points are valued by, and must be numbers. */
const VALUE_FIELDS: Record<string, string[]> = {
  heart_rate: ['Min', 'Avg', 'Max'],
  blood_pressure: ['systolic', 'diastolic'],
  step_count: ['qty'],
  weight_body_mass: ['qty'],
  body_temperature: ['qty'],
  blood_glucose: ['qty'],
  insulin_delivery: ['qty'],
  handwashing: ['qty'],
  a_metric_from_a_future_ios: ['qty'],
};
/** Sleep nights are dated by sleepStart/sleepEnd, not `date`; sexual activity has no single value field. */
const DATED = (name: string) => name !== 'sleep_analysis';

const JSON_HEADERS = { 'content-type': 'application/json' };
/** Raw number tokens JSON.stringify cannot write (it writes null for Infinity). */
const RAW = (token: string) => `@@raw:${token}@@`;

function serialise(value: Json): Buffer {
  return Buffer.from(JSON.stringify(value, null, 1).replace(/"@@raw:([^@]+)@@"/g, '$1'));
}

function mutated(change: (copy: Json) => void): Buffer {
  const copy = structuredClone(FIXTURE);
  change(copy);
  return serialise(copy);
}

interface Point {
  metric: string;
  m: number;
  p: number;
  bad: boolean;
}

function points(): Point[] {
  const all: Point[] = [];
  FIXTURE.data.metrics.forEach((metric: Json, m: number) =>
    metric.data.forEach((_: Json, p: number) => all.push({ metric: metric.name, m, p, bad: BAD.has(`${metric.name}/${p}`) })),
  );
  return all;
}

/** Spoiling one point: it is rejected now, unless it already was. */
const spoiled = (point: Point): Outcome => ({ received: RECEIVED, rejected: REJECTED + (point.bad ? 0 : 1) });
const unchanged: Outcome = { received: RECEIVED, rejected: REJECTED };

export function hostileCorpus(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (family: string, name: string, body: Buffer | string, expect: Outcome, headers: Record<string, string> = JSON_HEADERS) =>
    cases.push({ family, name, body: Buffer.isBuffer(body) ? body : Buffer.from(body), headers, expect });

  add('baseline', 'the fixture itself', TEXT, unchanged);

  // Truncations: the body cut right after every structural character (inside and after each string too).
  for (let i = 0; i < TEXT.length - 1; i++) {
    if ('{}[],:"'.includes(TEXT[i]!)) add('truncation', `cut after byte ${i} (${TEXT[i]})`, TEXT.slice(0, i + 1), { status: 400 });
  }

  // Type swaps in the value fields: the point is rejected, its neighbours are not.
  const wrongTypes: [string, Json][] = [
    ['true', true],
    ['an object', { qty: 1 }],
    ['an array', [1]],
    ['a word', 'seventy'],
    ['null', null],
    ['Infinity', RAW('1e999')],
    ['-Infinity', RAW('-1e999')],
    ['a 400-digit number', RAW('9'.repeat(400))],
  ];
  // Each (point, field) gets three of the wrong values, in rotation, so every value meets every metric.
  let turn = 0;
  const rotate = <T>(values: T[], n: number): T[] => Array.from({ length: n }, () => values[turn++ % values.length]!);
  for (const point of points()) {
    for (const field of VALUE_FIELDS[point.metric] ?? []) {
      for (const [label, value] of rotate(wrongTypes, 3)) {
        add('type swap', `${point.metric}[${point.p}].${field} = ${label}`, mutated((j) => (j.data.metrics[point.m].data[point.p][field] = value)), spoiled(point));
      }
      add('missing field', `${point.metric}[${point.p}] without ${field}`, mutated((j) => delete j.data.metrics[point.m].data[point.p][field]), spoiled(point));
    }
  }

  // Dates that are not dates, or outside 1970 .. now + 48 h.
  const badDates: [string, Json][] = [
    ['true', true],
    ['an object', { date: '2024-09-21' }],
    ['a word', 'yesterday'],
    ['month 13', '2024-13-45 25:61:00 +1000'],
    ['before 1970', '1969-12-31 23:59:59 +0000'],
    ['the year 2999', '2999-01-01 00:00:00 +0000'],
  ];
  for (const point of points().filter((p) => DATED(p.metric))) {
    for (const [label, value] of rotate(badDates, 2)) {
      add('bad date', `${point.metric}[${point.p}].date = ${label}`, mutated((j) => (j.data.metrics[point.m].data[point.p].date = value)), spoiled(point));
    }
    add('missing field', `${point.metric}[${point.p}] without date`, mutated((j) => delete j.data.metrics[point.m].data[point.p].date), spoiled(point));
  }

  // A point that is not an object.
  const notObjects: [string, Json][] = [['42', 42], ['a string', 'point'], ['null', null], ['an array', []]];
  for (const point of points()) {
    for (const [label, value] of rotate(notObjects, 2)) {
      add('point swap', `${point.metric}[${point.p}] = ${label}`, mutated((j) => (j.data.metrics[point.m].data[point.p] = value)), spoiled(point));
    }
  }

  // Metric entries broken as a whole.
  FIXTURE.data.metrics.forEach((metric: Json, m: number) => {
    const n = metric.data.length;
    const bad = points().filter((p) => p.m === m && p.bad).length;
    const oneRejection = { received: RECEIVED - n + 1, rejected: REJECTED - bad + 1 };
    add('metric swap', `metrics[${m}] (${metric.name}) = 42`, mutated((j) => (j.data.metrics[m] = 42)), oneRejection);
    add('metric swap', `metrics[${m}].data = "x"`, mutated((j) => (j.data.metrics[m].data = 'x')), oneRejection);
    add('metric swap', `metrics[${m}].data = {}`, mutated((j) => (j.data.metrics[m].data = {})), oneRejection);
    add('missing field', `metrics[${m}] without name`, mutated((j) => delete j.data.metrics[m].name), { received: RECEIVED, rejected: REJECTED - bad + n });
    add('missing field', `metrics[${m}] without data`, mutated((j) => delete j.data.metrics[m].data), { received: RECEIVED - n, rejected: REJECTED - bad });
  });
  for (const [label, value] of [['a string', 'metrics'], ['42', 42], ['an object', {}], ['true', true]] as [string, Json][]) {
    add('structure swap', `data.metrics = ${label}`, mutated((j) => (j.data.metrics = value)), { received: 1, rejected: 1 });
  }
  add('structure swap', 'data.metrics = null', mutated((j) => (j.data.metrics = null)), { received: 0, rejected: 0 });
  add('structure swap', 'data.metrics = []', mutated((j) => (j.data.metrics = [])), { received: 0, rejected: 0 });
  add('structure swap', 'data = {}', '{"data": {}}', { received: 0, rejected: 0 });

  // Extra fields are normal (newer app versions): ignored everywhere.
  const extras: [string, Json][] = [
    ['an object', { added_in: '9.9', nested: [1, { a: null }] }],
    ['a number', 1e308],
    ['a string', 'x'.repeat(1000)],
    ['a long array', new Array(10_000).fill(0)],
  ];
  for (const [label, value] of extras) {
    add('extra field', `root gets ${label}`, mutated((j) => (j.futureField = value)), unchanged);
    // An unknown array under data may be samples of a newer app: each entry is kept as a rejection.
    const underData = Array.isArray(value) ? { received: RECEIVED + value.length, rejected: REJECTED + value.length } : unchanged;
    add('extra field', `data gets ${label}`, mutated((j) => (j.data.futureSetting = value)), underData);
    add('extra field', `every metric gets ${label}`, mutated((j) => j.data.metrics.forEach((m: Json) => (m.futureField = value))), unchanged);
    add('extra field', `every point gets ${label}`, mutated((j) => j.data.metrics.forEach((m: Json) => m.data.forEach((p: Json) => (p.futureField = value)))), unchanged);
  }
  add('extra field', 'an unknown array under data', mutated((j) => (j.data.futureThings = [1, { a: 1 }, 'x'])), { received: RECEIVED + 3, rejected: REJECTED + 3 });
  add(
    'extra field',
    'a metric whose value overflows when converted (1.7e308 mi)',
    mutated((j) => j.data.metrics.push({ name: 'walking_running_distance', units: 'mi', data: [{ date: '2024-09-21 10:00:00 +1000', qty: 1.7e308 }] })),
    { received: RECEIVED + 1, rejected: REJECTED + 1 },
  );

  // Nesting: a point sits at depth 6 (root, data, metrics, metric, data, point); MAX_JSON_DEPTH is 64.
  const nest = (levels: number, shape: 'array' | 'object') => {
    let value: Json = 1;
    for (let i = 0; i < levels; i++) value = shape === 'array' ? [value] : { n: value };
    return value;
  };
  for (const shape of ['array', 'object'] as const) {
    add('deep nesting', `a point with ${shape}s to depth 64`, mutated((j) => (j.data.metrics[2].data[0].extra = nest(58, shape))), unchanged);
    add('deep nesting', `a point with ${shape}s to depth 65`, mutated((j) => (j.data.metrics[2].data[0].extra = nest(59, shape))), { status: 422 });
    add('deep nesting', `root with ${shape}s to depth 65`, mutated((j) => (j.extra = nest(64, shape))), { status: 422 });
  }
  add('deep nesting', '10,000 open brackets', '['.repeat(10_000), { status: 422 });
  add('deep nesting', '1,000,000 open brackets', '['.repeat(1_000_000), { status: 422 });
  add('deep nesting', '100,000 nested objects in a valid payload', `{"data": {"metrics": [], "x": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`, { status: 422 });

  // Huge values: strings up to MAX_STRING_KB (64 KiB) pass, longer ones refuse the whole body.
  const kib = 1024;
  add('huge value', 'an extra string of exactly 64 KiB', mutated((j) => (j.data.metrics[2].data[0].note = 'n'.repeat(64 * kib))), unchanged);
  add('huge value', 'an extra string of 64 KiB + 1', mutated((j) => (j.data.metrics[2].data[0].note = 'n'.repeat(64 * kib + 1))), { status: 422 });
  add('huge value', 'a source of 1 MB', mutated((j) => (j.data.metrics[2].data[0].source = 's'.repeat(1_000_000))), { status: 422 });
  add('huge value', 'a metric name of 100 KB', mutated((j) => (j.data.metrics[2].name = 'm'.repeat(100_000))), { status: 422 });
  add('huge value', 'a key of 100 KB', mutated((j) => (j.data.metrics[2].data[0]['k'.repeat(100_000)] = 1)), { status: 422 });
  add('huge value', 'a 3 MB string under data', mutated((j) => (j.data.blob = 'b'.repeat(3_000_000))), { status: 422 });
  add('huge value', 'a 4 KB number in an extra field', mutated((j) => (j.data.metrics[2].data[0].big = RAW('1'.repeat(4000)))), unchanged);
  add('huge value', 'a body over MAX_PAYLOAD_MB (4 MB)', mutated((j) => (j.data.padding = new Array(250_000).fill('0123456789abcdef'))), { status: 413 });

  // Prototype poisoning, anywhere in the body.
  const poison = (where: string, text: string) => add('prototype poisoning', where, text, { status: 422 });
  const insertAfter = (marker: string, insertion: string) => TEXT.replace(marker, `${marker}${insertion}`);
  poison('__proto__ at the root', insertAfter('{', '"__proto__": {"polluted": true},'));
  poison('__proto__ under data', insertAfter('"data": {', '"__proto__": {"metrics": []},'));
  poison('__proto__ in a metric', insertAfter('"name": "step_count",', '"__proto__": {"units": "x"},'));
  poison('__proto__ in a point', insertAfter('"qty": 312,', '"__proto__": {"qty": 1},'));
  poison('__proto__ spelled with escapes', insertAfter('"qty": 312,', '"\\u005f\\u005fproto\\u005f\\u005f": {},'));
  poison('constructor.prototype at the root', insertAfter('{', '"constructor": {"prototype": {"polluted": true}},'));
  poison('constructor.prototype in a point', insertAfter('"qty": 312,', '"constructor": {"prototype": {"qty": 1}},'));
  poison('constructor.prototype spelled with escapes', insertAfter('{', '"constructo\\u0072": {"\\u0070rototype": 1},'));

  // Wrong character encodings.
  add('encoding', 'UTF-16LE', Buffer.from(TEXT, 'utf16le'), { status: 400 });
  add('encoding', 'UTF-16LE with a byte order mark', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]), { status: 400 });
  add('encoding', 'UTF-16BE', Buffer.from(TEXT, 'utf16le').swap16(), { status: 400 });
  add('encoding', 'UTF-8 with a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT)]), { status: 400 });
  const [beforeSource, afterSource] = [TEXT.slice(0, TEXT.indexOf('"Withings"')), TEXT.slice(TEXT.indexOf('"Withings"') + '"Withings"'.length)];
  add('encoding', 'Latin-1 in a source name', Buffer.concat([Buffer.from(`${beforeSource}"Andr`), Buffer.from([0xe9]), Buffer.from(`"${afterSource}`)]), { status: 400 });
  add('encoding', 'a lone continuation byte', Buffer.concat([Buffer.from(TEXT.slice(0, 100)), Buffer.from([0x80]), Buffer.from(TEXT.slice(100))]), { status: 400 });
  add('encoding', 'NUL bytes', TEXT.replace('"iPhone"', '"iPh\u0000one"'), { status: 400 });
  // Escapes PostgreSQL cannot store in text or jsonb: refused whole rather than stored altered.
  add('encoding', 'an escaped NUL in a source', TEXT.replace('"iPhone"', '"iPh\\u0000one"'), { status: 422 });
  add('encoding', 'an escaped NUL in an extra field', TEXT.replace('"qty": 312,', '"qty": 312, "note": "\\u0000",'), { status: 422 });
  add('encoding', 'a lone high surrogate in a source', TEXT.replace('"iPhone"', '"iPh\\ud800one"'), { status: 422 });
  add('encoding', 'a lone low surrogate in an extra field', TEXT.replace('"qty": 312,', '"qty": 312, "note": "\\udc00x",'), { status: 422 });
  add('encoding', 'an escaped emoji (a valid surrogate pair) in a source', TEXT.replace('"Withings"', '"With\\ud83d\\ude00ings"'), unchanged);

  // Wrong content types and content encodings.
  for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/jsonp', 'application/json; charset=utf-16', 'application/json; charset=iso-8859-1']) {
    add('content type', `Content-Type: ${type}`, TEXT, { status: 415 }, { 'content-type': type });
  }
  add('content type', 'no Content-Type', TEXT, { status: 415 }, {});
  add('content type', 'application/vnd.hae+json; charset=UTF-8 is JSON', TEXT.replace('"Withings"', '"Withings (vnd)"'), unchanged, { 'content-type': 'application/vnd.hae+json; charset=UTF-8' });
  for (const encoding of ['br', 'deflate', 'compress', 'gzip, gzip', 'zstd']) {
    add('content encoding', `Content-Encoding: ${encoding}`, gzipSync(TEXT), { status: 415 }, { ...JSON_HEADERS, 'content-encoding': encoding });
  }
  const gzip = { ...JSON_HEADERS, 'content-encoding': 'gzip' };
  add('content encoding', 'gzip declared, plain body sent', TEXT, { status: 400 }, gzip);
  add('content encoding', 'gzip cut in half', gzipSync(TEXT).subarray(0, 200), { status: 400 }, gzip);
  add('content encoding', 'gzip twice, declared once', gzipSync(gzipSync(TEXT)), { status: 400 }, gzip);
  add('content encoding', 'gzip with a flipped byte', flipByte(gzipSync(TEXT), 40), { status: 400 }, gzip);
  add('content encoding', 'gzip inflating past MAX_PAYLOAD_MB', gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x20)), { status: 413 }, gzip);
  add('content encoding', 'gzip of the fixture with a point changed', gzipSync(TEXT.replace('"qty": 312', '"qty": "lots"')), spoiled(points()[5]!), gzip);

  // Not JSON, or JSON in neither format.
  add('not json', 'an empty body', '', { status: 400 });
  add('not json', 'whitespace', ' \n\t ', { status: 400 });
  add('not json', 'XML', '<data><metrics/></data>', { status: 400 });
  add('not json', 'single quotes', TEXT.replaceAll('"', "'"), { status: 400 });
  add('not json', 'a trailing comma', TEXT.replace(/}\s*$/, ',}'), { status: 400 });
  add('not json', 'two documents', `${TEXT}\n${TEXT}`, { status: 400 });
  add('not json', 'NaN', TEXT.replace('"qty": 312', '"qty": NaN'), { status: 400 });
  add('not json', 'random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 127 || 32)), { status: 400 });
  for (const text of ['null', '42', '"data"', '[]', 'true', '{}', '[{"data": {}}]', '{"data": []}', '{"data": "metrics"}', '{"metrics": []}', '{"samples": {}}', '{"Data": {"metrics": []}}']) {
    add('neither format', text, text, { status: 422 });
  }

  // The standard format, with bad samples among good ones.
  const sample = { kind: 'quantity', type: 'step_count', start: '2024-09-21T08:00:00+10:00', value: 10, unit: 'count', source: 'corpus' };
  const standard = (bad: Json) => JSON.stringify({ samples: [sample, { ...sample, source: 'corpus 2' }, bad] });
  const standardBad: [string, Json][] = [
    ['a number value as a string', { ...sample, source: 'b', value: 'ten' }],
    ['an unknown kind', { ...sample, source: 'b', kind: 'teleportation' }],
    ['no start', { ...sample, source: 'b', start: undefined }],
    ['a start without offset', { ...sample, source: 'b', start: '2024-09-21T08:00:00' }],
    ['a sample that is a number', 7],
    ['a sample that is null', null],
  ];
  for (const [label, bad] of standardBad) add('standard format', `standard: ${label}`, standard(bad), { received: 3, rejected: 1 });

  return cases;
}

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}
