/**
 * An upload parsed a slice at a time gives exactly what parsing it whole gives:
 * the same samples, reasons and order, whatever the chunks the body arrives in
 * (cut inside a string, an escape, a number or a multi-byte character), and the
 * same refusals, a syntax error deep in a big body still saying where.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateHaePayload } from '../../bench/generate.js';
import { BodyScan, SLICE_BYTES, SliceCutter, parseUnit, type Plan } from '../../src/ingest/body-plan.js';
import { bufferSource } from '../../src/ingest/body.js';
import { parseJson } from '../../src/ingest/process.js';
import { parseOffThread } from '../../src/ingest/parse-thread.js';
import { parseHae } from '../../src/ingest/hae/parse.js';
import { parseStandard } from '../../src/ingest/standard/parse.js';
import type { ParsedItem } from '../../src/ingest/records.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { defaultContext } from '../helpers/parse-context.js';

const LIMITS = { maxDepth: 64, maxStringBytes: 64 * 1024 };
const ctx = defaultContext();

/** A deterministic generator of chunk sizes. */
function sizes(seed: number, max: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return 1 + (state % max);
  };
}

function chunksOf(body: Buffer, next: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const size = next();
    chunks.push(body.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function plan(chunks: Buffer[]): Plan {
  const scan = new BodyScan(LIMITS);
  for (const chunk of chunks) scan.write(chunk);
  return scan.finish();
}

/** Both reads, each in its own chunks, as the parse thread does them. */
function sliced(body: Buffer, next: () => number): ParsedItem[] {
  const found = plan(chunksOf(body, next));
  const cutter = new SliceCutter(found.units);
  const items: ParsedItem[] = [];
  for (const { from, to } of found.reads) {
    let offset = from;
    for (const chunk of chunksOf(body.subarray(from, to), next)) {
      for (const { unit, text } of cutter.take(chunk, offset)) items.push(...parseUnit(unit, text, ctx));
      offset += chunk.length;
    }
  }
  expect(cutter.done).toBe(true);
  return items;
}

function whole(body: Buffer): ParsedItem[] {
  const parsed = JSON.parse(body.toString('utf8')) as { samples?: unknown };
  return [...(Array.isArray(parsed.samples) && !('data' in parsed) ? parseStandard(parsed, ctx) : parseHae(parsed, ctx))];
}

function refusal(chunks: Buffer[]): string | null {
  try {
    plan(chunks);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

const fixtures = readdirSync(FIXTURES_DIR).filter((name) => name.endsWith('.json'));

describe('a body cut into chunks anywhere', () => {
  it.each(fixtures)('parses %s as parsing it whole does, for chunks of 1 byte to 4 KB', (name) => {
    const body = readFileSync(path.join(FIXTURES_DIR, name));
    const expected = JSON.stringify(whole(body));
    // Chunks of one byte for the smaller fixtures only: the large one takes long enough in 7-byte chunks.
    for (const [seed, max] of [...(body.length < 200_000 ? [[1, 1]] : []), [2, 7], [3, 64], [4, 4096]] as const) {
      expect(JSON.stringify(sliced(body, sizes(seed, max)))).toBe(expected);
    }
  });

  it('cuts strings, escapes, surrogate pairs, multi-byte characters and numbers alike', () => {
    const tricky = {
      data: {
        metrics: [
          {
            name: 'step_count',
            units: 'count',
            data: [
              { date: '2024-01-01 00:00:00 +0000', qty: -1.5e2, source: 'Jane\u2019s \u00e9\u00e8 Watch \ud83d\ude00 "quoted" \\ back\\slash \n\t' },
              { date: '2024-01-01 00:01:00 +0000', qty: 0.25, source: '\u6f22\u5b57 \u{1f600}\u{1f601}' },
              { date: '2024-01-01 00:02:00 +0000', qty: 1e-3, source: 'plain' },
            ],
          },
        ],
      },
    };
    // Escapes written out as \uXXXX too, as some clients send them.
    const text = JSON.stringify(tricky).replace('plain', '\\u0070lain \\ud83d\\ude00');
    const body = Buffer.from(text);
    const expected = JSON.stringify(whole(body));
    for (let seed = 1; seed <= 50; seed++) expect(JSON.stringify(sliced(body, sizes(seed, 5)))).toBe(expected);
  });

  it('parses a metric entry larger than a slice a slice of its points at a time, with its name and units sent after its points', () => {
    const points = Array.from({ length: 30_000 }, (_, i) => ({ date: `2024-01-01 ${String(Math.floor(i / 3600) % 24).padStart(2, '0')}:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} +0000`, qty: i % 7 === 0 ? 'bad' : i }));
    const body = Buffer.from(JSON.stringify({ data: { metrics: [{ data: points, units: 'km', name: 'walking_running_distance' }, { name: 'step_count', units: 'count', data: points.slice(0, 10) }] } }));
    expect(body.length).toBeGreaterThan(SLICE_BYTES);
    const found = plan([body]);
    expect(found.units.filter((unit) => unit.kind === 'points').length).toBeGreaterThan(1);
    const items = sliced(body, sizes(9, 65_536));
    expect(JSON.stringify(items)).toBe(JSON.stringify(whole(body)));
    expect(items.find((item) => !item.ok)).toMatchObject({ rejection: { reason: expect.stringMatching(/^walking_running_distance\[0\]: /) } });
    expect(items.filter((item) => !item.ok).at(-1)).toMatchObject({ rejection: { reason: expect.stringMatching(/^step_count\[7\]: /) } });
  });

  it('keeps whole-payload semantics: the parsers\' order, a repeated key\'s last value, unknown arrays, non-array values', () => {
    const text = `{"data": {"workouts": {"not": "an array"}, "futureThings": [{"a": 1}, 2], "symptoms": [{"start": "2024-01-01 00:00:00 +0000", "name": "first"}],
      "2": [1], "metrics": [{"name": "step_count", "data": [{"date": "2024-01-01 00:00:00 +0000", "qty": 1}]}, 5, {"name": "x", "data": "no"}],
      "symptoms": [{"start": "2024-01-01 00:00:00 +0000", "name": "second"}], "1": [true], "version": 2}, "samples": []}`;
    const body = Buffer.from(text);
    const expected = whole(body);
    expect(expected.map((item) => (item.ok ? item.record.type : item.rejection.reason))).toEqual([
      'step_count',
      'metrics[1] must be an object, got number',
      'x: data must be an array, got string',
      'data.workouts must be an array, got object',
      'symptoms',
      '1[0]: data.1 is not an array this server knows how to store',
      '2[0]: data.2 is not an array this server knows how to store',
      'futureThings[0]: data.futureThings is not an array this server knows how to store',
      'futureThings[1]: data.futureThings is not an array this server knows how to store',
    ]);
    expect(expected.find((item) => item.ok && item.record.type === 'symptoms')).toMatchObject({ record: { qualifier: 'second' } });
    for (let seed = 1; seed <= 20; seed++) expect(JSON.stringify(sliced(body, sizes(seed, 9)))).toBe(JSON.stringify(expected));
  });

  it('parses the standard format and a generated payload as a whole parse does', () => {
    const standard = Buffer.from(
      JSON.stringify({
        samples: [
          { kind: 'quantity', type: 'step_count', start: '2024-05-01T10:00:00+02:00', value: 120, unit: 'count' },
          { kind: 'quantity', type: 'step_count', start: '2024-05-01T10:01:00Z', value: 'many', unit: 'count' },
        ],
      }),
    );
    expect(JSON.stringify(sliced(standard, sizes(5, 3)))).toBe(JSON.stringify(whole(standard)));
    const generated = Buffer.from(JSON.stringify(generateHaePayload({ samples: 20_000, seed: 3 }).payload));
    expect(JSON.stringify(sliced(generated, sizes(6, 100_000)))).toBe(JSON.stringify(whole(generated)));
  });
});

describe('refusals, whatever the chunks', () => {
  const cut = (text: string | Buffer, max: number) => chunksOf(Buffer.isBuffer(text) ? text : Buffer.from(text), sizes(7, max));

  it.each([
    ['a syntax error', '{"data": {"metrics": [}'],
    ['an unterminated string', '{"data": "abc'],
    ['a bad number', '{"samples": [1.]}'],
    ['a bad escape', '{"samples": ["\\x"]}'],
    ['text after the value', '{"samples": []} x'],
    ['deep nesting after a syntax error', `{"a": } ${'['.repeat(100)}`],
    ['invalid UTF-8 after a syntax error', Buffer.concat([Buffer.from('{"a": } "'), Buffer.from([0xe9]), Buffer.from('"')])],
    ['a cut multi-byte character', Buffer.concat([Buffer.from('["'), Buffer.from([0xe2, 0x80])])],
    ['an escaped __proto__', '{"data": {"\\u005f_proto__": {}}}'],
    ['an unpaired surrogate', '{"samples": ["\\ud83d"]}'],
    ['neither format', '{"x": [{}, {}]}'],
    ['an empty body', ''],
  ])('refuses %s as parseJson does', (_what, text) => {
    const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
    let expected: string | null = null;
    try {
      const parsed = parseJson(bytes, LIMITS) as { data?: unknown; samples?: unknown };
      if (!(typeof parsed.data === 'object' && parsed.data !== null && !Array.isArray(parsed.data)) && !Array.isArray(parsed.samples)) expected = 'neither';
    } catch (error) {
      expected = (error as Error).message;
    }
    for (const max of [1, 3, 1000]) {
      const message = refusal(cut(bytes, max));
      expect(expected === 'neither' ? message?.includes('neither accepted format') : message).toBe(expected === 'neither' ? true : expected);
    }
  });

  it('says where a syntax error deep in a big body is: line, column and position', () => {
    const lines = JSON.stringify(generateHaePayload({ samples: 50_000, seed: 4 }).payload, null, 1).split('\n');
    const line = lines.findIndex((text, index) => index > lines.length * 0.9 && text.includes('"qty": '));
    lines[line] = lines[line]!.replace(/"qty": /, '"qty": ,'); // a value missing, past 90 % of the body
    const text = lines.join('\n');
    const position = text.indexOf('"qty": ,') + '"qty": '.length;
    const column = position - text.lastIndexOf('\n', position - 1);
    expect(text.length).toBeGreaterThan(5_000_000);
    expect(refusal(cut(text, 65_536))).toBe(`body is not valid JSON: ValueExpected at line ${line + 1}, column ${column} (position ${position})`);
  });

  it('counts the position in characters, as a JavaScript string of the body does', () => {
    const text = '{"source": "\u00e9\u{1f600}\u6f22", "x": tru}';
    const position = text.indexOf('tru}') + 3;
    expect(refusal(cut(text, 2))).toBe(`body is not valid JSON: InvalidSymbol at line 1, column ${position + 1} (position ${position})`);
  });
});

describe('the parse thread', () => {
  it('gives the format, then every sample in batches, and refuses as the first read says', async () => {
    const generated = generateHaePayload({ samples: 10_000, seed: 8 });
    const body = Buffer.from(JSON.stringify(generated.payload));
    const events = [];
    for await (const event of parseOffThread(bufferSource(body), LIMITS, ctx)) events.push(event);
    expect(events[0]).toBe('hae');
    const items = events.slice(1).flatMap((event) => (typeof event === 'string' ? [] : event.items));
    expect(items.length).toBe(generated.samples);
    expect(JSON.stringify(items)).toBe(JSON.stringify(whole(body)));

    const refused = parseOffThread(bufferSource(Buffer.from('{"data": {"metrics": [}')), LIMITS, ctx);
    await expect(refused.next()).rejects.toMatchObject({ code: 'INVALID_JSON', message: expect.stringContaining('position 22') });
  });
});
