/**
 * The one check every JSON body passes before it is parsed: depth, string
 * length, prototype-poisoning keys and UTF-8, each refused with where it was.
 */
import { describe, expect, it } from 'vitest';
import { checkJsonText } from '../../src/ingest/json-guard.js';
import { parseJson } from '../../src/ingest/process.js';

const LIMITS = { maxDepth: 64, maxStringBytes: 64 * 1024 };
const check = (text: string | Buffer) => checkJsonText(Buffer.isBuffer(text) ? text : Buffer.from(text), LIMITS);
const refusal = (text: string | Buffer) => {
  try {
    parseJson(Buffer.isBuffer(text) ? text : Buffer.from(text), LIMITS);
    return null;
  } catch (error) {
    return error as { code: string; status: number; message: string };
  }
};

describe('nesting depth', () => {
  it('accepts exactly MAX_JSON_DEPTH levels and refuses one more, saying where', () => {
    expect(() => check('['.repeat(64) + ']'.repeat(64))).not.toThrow();
    expect(refusal('['.repeat(65) + ']'.repeat(65))).toMatchObject({
      code: 'UNPROCESSABLE_PAYLOAD',
      status: 422,
      message: 'JSON nested deeper than 64 levels at byte 64 (MAX_JSON_DEPTH)',
    });
    const mixed = '{"a":['.repeat(33) + '1' + ']}'.repeat(33); // 66 levels
    expect(refusal(mixed)?.code).toBe('UNPROCESSABLE_PAYLOAD');
  });

  it('refuses a million levels at once, without parsing them', () => {
    expect(refusal('['.repeat(1_000_000))?.message).toContain('nested deeper than 64 levels');
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ text: '['.repeat(500) + '"\\"{{{' });
    expect(() => check(inString)).not.toThrow();
    expect(refusal(inString)).toBeNull();
  });
});

describe('string length', () => {
  it('accepts a string of exactly MAX_STRING_KB and refuses a longer one, keys included', () => {
    expect(() => check(JSON.stringify({ a: 'x'.repeat(65_536) }))).not.toThrow();
    expect(refusal(JSON.stringify({ a: 'x'.repeat(65_537) }))).toMatchObject({
      code: 'UNPROCESSABLE_PAYLOAD',
      message: 'a string at byte 5 is 65537 bytes long; the limit is 64 KiB (MAX_STRING_KB)',
    });
    expect(refusal(JSON.stringify({ ['k'.repeat(70_000)]: 1 }))?.code).toBe('UNPROCESSABLE_PAYLOAD');
  });

  it('counts a string as sent: escapes take their bytes', () => {
    expect(refusal(JSON.stringify({ a: '\n'.repeat(40_000) }))?.code).toBe('UNPROCESSABLE_PAYLOAD'); // 80,000 bytes as \n
  });
});

describe('prototype poisoning', () => {
  it.each([
    ['__proto__ at the top', '{"__proto__": {"isAdmin": true}}'],
    ['__proto__ deep inside', '{"data": {"metrics": [{"name": "x", "data": [{"__proto__": {"qty": 1}}]}]}}'],
    ['__proto__ written with escapes', '{"\\u005f_proto__": {}}'],
    ['__proto__ fully escaped', '{"\\u005f\\u005f\\u0070\\u0072\\u006f\\u0074\\u006f\\u005f\\u005f": {}}'],
    ['__proto__ with spaces before the colon', '{"__proto__"   \n : 1}'],
    ['constructor.prototype', '{"constructor": {"prototype": {"polluted": 1}}}'],
    ['constructor.prototype after another key', '{"a": 1, "constructor": {"x": [1, {"y": 2}], "prototype": 1}}'],
    ['constructor.prototype escaped', '{"\\u0063onstructor": {"protot\\u0079pe": 1}}'],
  ])('refuses %s', (_what, text) => {
    const error = refusal(text);
    expect(error?.code).toBe('UNPROCESSABLE_PAYLOAD');
    expect(error?.message).toMatch(/forbidden key "(__proto__|constructor\.prototype)" at byte \d+ \(prototype poisoning\)/);
  });

  it.each([
    ['__proto__ as a value', '{"source": "__proto__"}'],
    ['a constructor that is not an object', '{"constructor": "Apple", "prototype": 1}'],
    ['prototype deeper inside constructor', '{"constructor": {"a": {"prototype": 1}}}'],
    ['prototype beside constructor', '{"constructor": {"a": 1}, "prototype": 2}'],
    ['similar keys', '{"__proto": 1, "_proto__": 2, "constructors": {"prototype": 3}}'],
  ])('accepts %s', (_what, text) => {
    expect(refusal(text)).toBeNull();
  });
});

describe('encoding', () => {
  it('refuses bytes that are not UTF-8, naming the first bad byte', () => {
    const latin1 = Buffer.concat([Buffer.from('{"source": "Andr'), Buffer.from([0xe9]), Buffer.from('s iPhone"}')]);
    expect(refusal(latin1)).toMatchObject({ code: 'INVALID_JSON', status: 400, message: expect.stringContaining('not valid UTF-8 (first bad byte at 16)') });
    const surrogate = Buffer.concat([Buffer.from('["'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"]')]);
    expect(refusal(surrogate)?.message).toContain('first bad byte at 2');
    const overlong = Buffer.concat([Buffer.from('["'), Buffer.from([0xc0, 0xaf]), Buffer.from('"]')]);
    expect(refusal(overlong)?.message).toContain('first bad byte at 2');
    const cut = Buffer.concat([Buffer.from('["'), Buffer.from([0xe2, 0x80])]);
    expect(refusal(cut)?.message).toContain('first bad byte at 2');
  });

  it('refuses UTF-16 text as JSON that does not parse, and keeps real UTF-8 exactly', () => {
    expect(refusal(Buffer.from('{"a": 1}', 'utf16le'))?.code).toBe('INVALID_JSON');
    expect(parseJson(Buffer.from('{"source": "Jane’s Apple\u00a0Watch"}'), LIMITS)).toEqual({ source: 'Jane’s Apple\u00a0Watch' });
  });
});

describe('escapes PostgreSQL cannot store', () => {
  it.each([
    ['an escaped NUL', '{"source": "a\\u0000b"}', 'contains \\u0000'],
    ['a lone high surrogate', '{"source": "a\\ud800b"}', 'unpaired UTF-16 surrogate (\\ud800)'],
    ['a high surrogate at the end of a string', '["\\uD83D"]', 'unpaired UTF-16 surrogate (\\ud83d)'],
    ['a lone low surrogate', '["\\udc00"]', 'unpaired UTF-16 surrogate (\\udc00)'],
    ['two high surrogates', '["\\ud83d\\ud83d"]', 'unpaired UTF-16 surrogate'],
  ])('refuses %s', (_what, text, message) => {
    const error = refusal(text);
    expect(error?.code).toBe('UNPROCESSABLE_PAYLOAD');
    expect(error?.message).toContain(message);
  });

  it('accepts surrogate pairs and other escapes', () => {
    expect(parseJson(Buffer.from('["\\ud83d\\ude00", "\\u00e9\\u202f\\n\\\\u0000"]'), LIMITS)).toEqual(['😀', 'é\u202f\n\\u0000']);
  });

  it('keeps the syntax error message storable when the body holds NUL bytes (UTF-16 text once failed with a 500)', () => {
    const error = refusal(Buffer.from('{"a": 1}', 'utf16le').swap16());
    expect(error?.code).toBe('INVALID_JSON');
    expect(error?.message).not.toContain(String.fromCharCode(0));
    expect(error?.message).toMatch(/position \d+/);
  });
});
