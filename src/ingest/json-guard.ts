/**
 * Hostile JSON is refused before JSON.parse builds anything from it: one pass
 * over the raw bytes checks the nesting depth (deep nesting overflows the stack
 * of whatever walks the result later), the length of every string (one huge
 * string is memory spent on nothing the app sends), prototype-poisoning keys
 * (`__proto__`, or `prototype` directly inside `constructor`: harmless to
 * JSON.parse but dangerous to any code that later merges the object), and
 * escapes PostgreSQL cannot store (`\u0000`, unpaired surrogates).
 * The pass costs a fraction of JSON.parse itself, so it runs on 100 MB bodies.
 */
import { AppError } from '../shared/errors.js';

export interface JsonLimits {
  maxDepth: number;
  maxStringBytes: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const LETTER_U = 0x75;

const PROTO = Buffer.from('__proto__');
const CONSTRUCTOR = Buffer.from('constructor');
const PROTOTYPE = Buffer.from('prototype');
/** The longest a suspicious key can be when every character is written as \uXXXX. */
const LONGEST_ESCAPED_KEY = CONSTRUCTOR.length * 6;

const refuse = (message: string) => new AppError('UNPROCESSABLE_PAYLOAD', message);

/**
 * Throws UNPROCESSABLE_PAYLOAD for the first limit the text breaks; says nothing
 * about syntax (JSON.parse reports that, with its position, afterwards).
 */
export function checkJsonText(bytes: Uint8Array, limits: JsonLimits): void {
  const length = bytes.length;
  let depth = 0;
  /** Depths of the objects that are the value of a "constructor" key. */
  const constructorObjects: number[] = [];
  let afterConstructorKey = false;

  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    if (byte === QUOTE) {
      const start = i;
      let escaped = false;
      i++;
      while (i < length) {
        const inner = bytes[i]!;
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) {
          escaped = true;
          if (bytes[i + 1] === LETTER_U) i = checkUnicodeEscape(bytes, i, start) - 1;
          else i++;
        }
        i++;
      }
      if (i >= length) return; // unterminated string: a syntax error for JSON.parse to report
      const size = i - start - 1;
      if (size > limits.maxStringBytes) {
        throw refuse(
          `a string at byte ${start} is ${size} bytes long; the limit is ${limits.maxStringBytes / 1024} KiB (MAX_STRING_KB)`,
        );
      }
      afterConstructorKey = false;
      if (size >= PROTO.length && size <= LONGEST_ESCAPED_KEY && isKey(bytes, i + 1)) {
        const key = escaped ? decodeKey(bytes, start, i) : bytes.subarray(start + 1, i);
        if (same(key, PROTO)) throw refuse(`forbidden key "__proto__" at byte ${start} (prototype poisoning)`);
        if (same(key, PROTOTYPE) && constructorObjects.at(-1) === depth) {
          throw refuse(`forbidden key "constructor.prototype" at byte ${start} (prototype poisoning)`);
        }
        afterConstructorKey = same(key, CONSTRUCTOR);
      }
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
      if (depth > limits.maxDepth) {
        throw refuse(`JSON nested deeper than ${limits.maxDepth} levels at byte ${i} (MAX_JSON_DEPTH)`);
      }
      if (afterConstructorKey && byte === OPEN_OBJECT) constructorObjects.push(depth);
      afterConstructorKey = false;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (constructorObjects.at(-1) === depth) constructorObjects.pop();
      depth--;
      afterConstructorKey = false;
    } else if (byte > 0x20 && byte !== COLON) {
      // a number, literal or comma: whatever followed a "constructor" key was not an object
      afterConstructorKey = false;
    }
  }
}

/**
 * A `\uXXXX` escape at `at`: refuses the two that PostgreSQL cannot store in
 * text or jsonb (U+0000, and a UTF-16 surrogate without its pair), which would
 * otherwise fail the whole chunk they are written in. Returns the index after
 * the escape (after both halves of a pair).
 */
function checkUnicodeEscape(bytes: Uint8Array, at: number, stringStart: number): number {
  const code = hex4(bytes, at + 2);
  if (code < 0) return at + 2; // not an escape JSON.parse accepts: it reports it
  if (code === 0) throw refuse(`a string at byte ${stringStart} contains \\u0000, which cannot be stored`);
  if (code >= 0xd800 && code <= 0xdbff) {
    const low = bytes[at + 6] === BACKSLASH && bytes[at + 7] === LETTER_U ? hex4(bytes, at + 8) : -1;
    if (low >= 0xdc00 && low <= 0xdfff) return at + 12;
  }
  if (code >= 0xd800 && code <= 0xdfff) {
    throw refuse(`a string at byte ${stringStart} contains an unpaired UTF-16 surrogate (\\u${code.toString(16)}), which cannot be stored`);
  }
  return at + 6;
}

/** Four hex digits at `at` as a number; -1 when they are not (JSON.parse reports the bad escape). */
function hex4(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let i = at; i < at + 4; i++) {
    const byte = bytes[i];
    const digit = byte === undefined ? -1 : byte >= 0x30 && byte <= 0x39 ? byte - 0x30 : (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66 ? (byte | 0x20) - 0x57 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Whether the string that ended just before `from` is an object key (a colon follows). */
function isKey(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === COLON) return true;
    if (byte > 0x20) return false;
  }
  return false;
}

/** A short key written with escapes (`\u005f_proto__`), decoded; only suspicious-length keys get here. */
function decodeKey(bytes: Uint8Array, start: number, end: number): Uint8Array {
  try {
    return Buffer.from(JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start + 1).toString('utf8')) as string);
  } catch {
    return new Uint8Array(0); // a bad escape: JSON.parse reports it afterwards
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Where a body stops being UTF-8, for the error message (only called once isUtf8 said it does). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const length = bytes.length;
  let i = 0;
  while (i < length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const following = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (following === 0 || i + following >= length) return i;
    for (let k = 1; k <= following; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    const second = bytes[i + 1]!;
    // overlong forms, UTF-16 surrogates, and code points above U+10FFFF
    if ((lead === 0xe0 && second < 0xa0) || (lead === 0xed && second > 0x9f) || (lead === 0xf0 && second < 0x90) || (lead === 0xf4 && second > 0x8f)) {
      return i;
    }
    i += following + 1;
  }
  return length;
}
