/**
 * Hostile JSON is refused before JSON.parse builds anything from it: one pass
 * over the raw bytes checks the nesting depth (deep nesting overflows the stack
 * of whatever walks the result later), the length of every string (one huge
 * string is memory spent on nothing the app sends), prototype-poisoning keys
 * (`__proto__`, or `prototype` directly inside `constructor`: harmless to
 * JSON.parse but dangerous to any code that later merges the object), and
 * escapes PostgreSQL cannot store (`\u0000`, unpaired surrogates).
 *
 * The pass is a streaming scanner: the body arrives in chunks of any size (a
 * chunk may end inside a string, an escape or a number) and nothing of it is
 * kept. In strict mode it is also a complete JSON syntax check that says where
 * the text went wrong, and it tells a listener (the ingest planner,
 * body-plan.ts) where the values near the top start and end, so that the
 * upload can be parsed a slice at a time.
 *
 * Refusals keep one order whatever the chunks: a limit broken anywhere wins over
 * a syntax error (after the first syntax error the scan goes on with the limits
 * only, as the check did when it ran before JSON.parse).
 */
import { isUtf8 } from 'node:buffer';
import { AppError } from '../shared/errors.js';

export interface JsonLimits {
  maxDepth: number;
  maxStringBytes: number;
}

/** What starts at an offset: an object, an array, or a string, number or literal. */
export type ValueKind = 'object' | 'array' | 'scalar';

/**
 * Told where values start and end, for values at most `depth` levels down (the
 * root is at depth 0, its members at 1). Only told while the text is valid so far.
 */
export interface JsonListener {
  readonly depth: number;
  /** Each chunk before it is scanned, with the offset of its first byte. */
  chunk(bytes: Uint8Array, offset: number): void;
  begin(depth: number, offset: number, kind: ValueKind): void;
  /** `end` is the offset just past the value. */
  end(depth: number, end: number): void;
  /** The depths whose keys it wants to be told. */
  readonly keyDepths: readonly number[];
  /** The key of the next value at `depth`. */
  key(depth: number, name: string): void;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const LETTER_U = 0x75;
const NEWLINE = 0x0a;

const PROTO = Buffer.from('__proto__');
const CONSTRUCTOR = Buffer.from('constructor');
const PROTOTYPE = Buffer.from('prototype');
/** The longest a suspicious key can be when every character is written as \uXXXX. */
const LONGEST_ESCAPED_KEY = CONSTRUCTOR.length * 6;

/** Bytes a JSON string may hold after a backslash, besides `u`. */
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));
const LITERALS = new Map(['true', 'false', 'null'].map((word) => [word.charCodeAt(0), Buffer.from(word)]));

const refuse = (message: string) => new AppError('UNPROCESSABLE_PAYLOAD', message);

/** Where the grammar is: what the next significant byte may be. */
const enum Mode {
  Value,
  ArrayFirst,
  ObjectFirst,
  Key,
  Colon,
  After,
  Done,
  Number,
  Literal,
}

/** A string that may be a forbidden key, until the byte after it shows whether it is a key. */
const enum Suspect {
  None,
  Proto,
  Constructor,
  Prototype,
}

function suspectOf(text: Uint8Array): Suspect {
  return same(text, PROTO) ? Suspect.Proto : same(text, CONSTRUCTOR) ? Suspect.Constructor : same(text, PROTOTYPE) ? Suspect.Prototype : Suspect.None;
}

/** Inside a number: what has been read so far. */
const enum Num {
  Minus,
  Zero,
  Integer,
  Point,
  Fraction,
  Exponent,
  ExponentSign,
  ExponentDigits,
}

/** Inside a string, after a backslash. */
const enum Escape {
  None,
  Backslash,
  Hex,
  /** After a high surrogate, before its `\`. */
  LowBackslash,
  /** After a high surrogate's `\`, before the `u`. */
  LowU,
}

const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;
/** Bytes a string holds that need no attention: printable ASCII but the quote and the backslash. */
const PLAIN_IN_STRING = new Uint8Array(256).map((_, byte) => (byte >= 0x20 && byte < 0x80 && byte !== QUOTE && byte !== BACKSLASH ? 1 : 0));
const isWhitespace = (byte: number) => byte === 0x20 || byte === NEWLINE || byte === 0x0d || byte === 0x09;

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

export class JsonScanner {
  /** Offset of the current chunk's first byte in the whole text. */
  private base = 0;
  private depth = 0;
  /** The open containers, innermost last: true for an object. */
  private readonly objects: boolean[] = [];
  private mode = Mode.Value;
  /** Still checking the grammar: no syntax error so far. */
  private strict: boolean;
  private limitError: AppError | null = null;
  private syntaxError: AppError | null = null;

  // Where we are, for a syntax error: UTF-16 positions, as a JavaScript string of the text counts them.
  private line = 1;
  private lineStart = 0;
  /** Bytes so far minus UTF-16 units so far: multi-byte characters only occur in strings. */
  private extraBytes = 0;

  private inString = false;
  private stringIsKey = false;
  private stringStart = 0;
  private stringEscaped = false;
  /** A string's bytes so far, when it began in an earlier chunk and may be needed whole (a key). */
  private carried: Buffer[] = [];
  private escape = Escape.None;
  private hexCount = 0;
  private hexValue = 0;
  /** The high surrogate whose low half is being read; -1 when none. */
  private highSurrogate = -1;

  private number = Num.Minus;
  private literal: Buffer = PROTO;
  private literalAt = 0;

  /** A string that may be a forbidden key, decoded, until the next byte shows whether it is a key. */
  private suspect: Suspect = Suspect.None;
  /** Depths of the objects that are the value of a "constructor" key. */
  private readonly constructorObjects: number[] = [];
  private afterConstructorKey = false;

  private readonly listener: JsonListener | null;
  private readonly listenDepth: number;
  private readonly keyDepths: readonly number[];

  /** strict: check the syntax too (else the limits only); listener: told where values are (strict only). */
  constructor(
    private readonly limits: JsonLimits,
    options: { strict: boolean; listener?: JsonListener },
  ) {
    this.strict = options.strict;
    this.listener = options.listener ?? null;
    this.listenDepth = this.listener?.depth ?? -1;
    this.keyDepths = this.listener?.keyDepths ?? [];
  }

  private wantsKey(depth: number): boolean {
    return this.keyDepths.includes(depth);
  }

  /** Scans the next chunk; stops looking once a limit is broken (that is the answer). */
  write(bytes: Uint8Array): void {
    if (this.limitError) return;
    if (this.strict) this.listener?.chunk(bytes, this.base);
    try {
      this.scan(bytes);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      this.limitError = error;
    }
    if (this.inString) this.carry(bytes);
    this.base += bytes.length;
  }

  /** Throws the refusal, if any: a broken limit first, else the first syntax error. */
  end(): void {
    if (this.limitError) throw this.limitError;
    if (this.strict) this.finishStrict();
    if (this.syntaxError) throw this.syntaxError;
  }

  private finishStrict(): void {
    const at = this.base;
    if (this.inString) return this.syntax('UnexpectedEndOfString', at);
    if (this.mode === Mode.Number) {
      if (this.number !== Num.Zero && this.number !== Num.Integer && this.number !== Num.Fraction && this.number !== Num.ExponentDigits) {
        return this.syntax('UnexpectedEndOfNumber', at);
      }
      this.endValue(at);
    }
    if (this.mode === Mode.Literal) return this.syntax('InvalidSymbol', at);
    if (this.mode === Mode.Done) return;
    if (this.mode === Mode.Value || this.mode === Mode.ArrayFirst) return this.syntax('ValueExpected', at);
    if (this.mode === Mode.ObjectFirst || this.mode === Mode.Key) return this.syntax('PropertyNameExpected', at);
    if (this.mode === Mode.Colon) return this.syntax('ColonExpected', at);
    this.syntax(this.objects.at(-1) ? 'CloseBraceExpected' : 'CloseBracketExpected', at);
  }

  private syntax(code: string, at: number): void {
    this.strict = false;
    const position = at - this.extraBytes;
    this.syntaxError = new AppError(
      'INVALID_JSON',
      `body is not valid JSON: ${code} at line ${this.line}, column ${position - this.lineStart + 1} (position ${position})`,
    );
  }

  private scan(bytes: Uint8Array): void {
    const length = bytes.length;
    for (let i = 0; i < length; i++) {
      if (this.inString) {
        i = this.scanString(bytes, i);
        continue;
      }
      if (this.strict && this.mode === Mode.Number) {
        if (this.number === Num.Integer || this.number === Num.Fraction || this.number === Num.ExponentDigits) {
          while (i < length && isDigit(bytes[i]!)) i++;
          if (i === length) return;
        }
        if (this.continueNumber(bytes[i]!, this.base + i)) continue;
      }
      const byte = bytes[i]!;
      if (this.strict) {
        if (this.mode === Mode.Literal) {
          if (byte === this.literal[this.literalAt]) {
            if (++this.literalAt === this.literal.length) this.endValue(this.base + i + 1);
            continue;
          }
          this.syntax('InvalidSymbol', this.base + i);
        }
      }
      if (isWhitespace(byte)) {
        if (byte === NEWLINE) {
          this.line++;
          this.lineStart = this.base + i + 1 - this.extraBytes;
        }
        continue;
      }
      if (this.suspect !== Suspect.None) this.checkSuspect(byte);
      if (this.strict) this.grammar(byte, this.base + i);
      if (byte === QUOTE) {
        this.inString = true;
        this.stringStart = this.base + i;
        this.stringEscaped = false;
        if (this.carried.length > 0) this.carried = [];
        this.afterConstructorKey = false;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        this.depth++;
        if (this.depth > this.limits.maxDepth) {
          throw refuse(`JSON nested deeper than ${this.limits.maxDepth} levels at byte ${this.base + i} (MAX_JSON_DEPTH)`);
        }
        if (this.afterConstructorKey && byte === OPEN_OBJECT) this.constructorObjects.push(this.depth);
        this.afterConstructorKey = false;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        if (this.constructorObjects.at(-1) === this.depth) this.constructorObjects.pop();
        this.depth--;
        this.afterConstructorKey = false;
      } else if (byte !== COLON) {
        // a number, literal or comma: whatever followed a "constructor" key was not an object
        this.afterConstructorKey = false;
      }
    }
  }

  /** The grammar's view of a significant byte outside strings (the limits are checked by the caller). */
  private grammar(byte: number, at: number): void {
    switch (this.mode) {
      case Mode.Value:
      case Mode.ArrayFirst:
        if (byte === CLOSE_ARRAY && this.mode === Mode.ArrayFirst) return this.close(at);
        return this.beginValue(byte, at);
      case Mode.ObjectFirst:
      case Mode.Key:
        if (byte === QUOTE) {
          this.stringIsKey = true;
          return;
        }
        if (byte === CLOSE_OBJECT && this.mode === Mode.ObjectFirst) return this.close(at);
        return this.syntax('PropertyNameExpected', at);
      case Mode.Colon:
        if (byte === COLON) this.mode = Mode.Value;
        else this.syntax('ColonExpected', at);
        return;
      case Mode.After: {
        const inObject = this.objects.at(-1)!;
        if (byte === COMMA) this.mode = inObject ? Mode.Key : Mode.Value;
        else if (byte === (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) this.close(at);
        else this.syntax('CommaExpected', at);
        return;
      }
      default:
        this.syntax('EndOfFileExpected', at);
    }
  }

  private beginValue(byte: number, at: number): void {
    const depth = this.objects.length;
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      const isObject = byte === OPEN_OBJECT;
      if (depth <= this.listenDepth) this.listener!.begin(depth, at, isObject ? 'object' : 'array');
      this.objects.push(isObject);
      this.mode = isObject ? Mode.ObjectFirst : Mode.ArrayFirst;
      return;
    }
    if (byte === QUOTE) {
      this.stringIsKey = false;
    } else if (byte === 0x2d || isDigit(byte)) {
      this.mode = Mode.Number;
      this.number = byte === 0x2d ? Num.Minus : byte === 0x30 ? Num.Zero : Num.Integer;
    } else if (LITERALS.has(byte)) {
      this.mode = Mode.Literal;
      this.literal = LITERALS.get(byte)!;
      this.literalAt = 1;
    } else {
      return this.syntax(byte >= 0x80 || byte < 0x20 ? 'InvalidSymbol' : 'ValueExpected', at);
    }
    if (depth <= this.listenDepth) this.listener!.begin(depth, at, 'scalar');
  }

  private close(at: number): void {
    this.objects.pop();
    this.endValue(at + 1);
  }

  /** A value other than a container ended just before `end`. */
  private endValue(end: number): void {
    const depth = this.objects.length;
    if (depth <= this.listenDepth) this.listener!.end(depth, end);
    this.mode = depth === 0 ? Mode.Done : Mode.After;
  }

  /**
   * Whether `byte` belongs to the number being read. When it does not, the
   * number ends before it (or was cut short: a syntax error) and the caller
   * reads the byte as what follows.
   */
  private continueNumber(byte: number, at: number): boolean {
    const digit = isDigit(byte);
    const exponent = byte === 0x65 || byte === 0x45;
    switch (this.number) {
      case Num.Minus:
        if (!digit) break;
        this.number = byte === 0x30 ? Num.Zero : Num.Integer;
        return true;
      case Num.Integer:
      case Num.Zero:
        if (digit && this.number === Num.Integer) return true;
        if (byte === 0x2e) this.number = Num.Point;
        else if (exponent) this.number = Num.Exponent;
        else return this.endValue(at), false;
        return true;
      case Num.Point:
        if (!digit) break;
        this.number = Num.Fraction;
        return true;
      case Num.Fraction:
        if (digit) return true;
        if (!exponent) return this.endValue(at), false;
        this.number = Num.Exponent;
        return true;
      case Num.Exponent:
        if (byte === 0x2b || byte === 0x2d) this.number = Num.ExponentSign;
        else if (digit) this.number = Num.ExponentDigits;
        else break;
        return true;
      case Num.ExponentSign:
        if (!digit) break;
        this.number = Num.ExponentDigits;
        return true;
      case Num.ExponentDigits:
        if (digit) return true;
        return this.endValue(at), false;
    }
    this.syntax('InvalidNumberFormat', at);
    return false;
  }

  /** Reads string bytes from `i`; returns the index of the last byte it read. */
  private scanString(bytes: Uint8Array, from: number): number {
    const length = bytes.length;
    let i = from;
    while (i < length) {
      if (this.escape !== Escape.None) {
        if (this.escapeByte(bytes[i]!, i)) i++; // else not part of the escape: read again as string content
        continue;
      }
      while (i < length && PLAIN_IN_STRING[bytes[i]!] === 1) i++;
      if (i === length) break;
      const byte = bytes[i]!;
      if (byte === QUOTE) {
        this.endString(bytes, i);
        return i;
      }
      if (byte === BACKSLASH) {
        this.escape = Escape.Backslash;
        this.stringEscaped = true;
      } else if (byte >= 0x80) {
        // continuation bytes add no UTF-16 unit; a 4-byte character takes two units for its four bytes
        if (byte < 0xc0) this.extraBytes++;
        else if (byte >= 0xf0) this.extraBytes--;
      } else if (this.strict) {
        this.syntax('InvalidCharacter', this.base + i); // a control character
      }
      i++;
    }
    return length - 1;
  }

  /** One byte after a backslash; false when it is not part of the escape after all. */
  private escapeByte(byte: number, i: number): boolean {
    switch (this.escape) {
      case Escape.Backslash:
        if (byte === LETTER_U) {
          this.escape = Escape.Hex;
          this.hexCount = 0;
          this.hexValue = 0;
          return true;
        }
        if (!SIMPLE_ESCAPES.has(byte) && this.strict) this.syntax('InvalidEscapeCharacter', this.base + i);
        this.escape = Escape.None;
        return true;
      case Escape.Hex: {
        const digit = hexDigit(byte);
        if (digit < 0) {
          if (this.highSurrogate >= 0) throw this.unpaired(this.highSurrogate);
          if (this.strict) this.syntax('InvalidUnicode', this.base + i);
          this.escape = Escape.None;
          return false;
        }
        this.hexValue = this.hexValue * 16 + digit;
        if (++this.hexCount === 4) this.unicode(this.hexValue);
        return true;
      }
      case Escape.LowBackslash:
        if (byte !== BACKSLASH) throw this.unpaired(this.highSurrogate);
        this.escape = Escape.LowU;
        return true;
      default:
        if (byte !== LETTER_U) throw this.unpaired(this.highSurrogate);
        this.escape = Escape.Hex;
        this.hexCount = 0;
        this.hexValue = 0;
        return true;
    }
  }

  /**
   * A complete `\uXXXX`: refuses the two escapes PostgreSQL cannot store in text
   * or jsonb (U+0000, and a UTF-16 surrogate without its pair), which would
   * otherwise fail the whole chunk they are written in.
   */
  private unicode(code: number): void {
    this.escape = Escape.None;
    if (this.highSurrogate >= 0) {
      if (code < 0xdc00 || code > 0xdfff) throw this.unpaired(this.highSurrogate);
      this.highSurrogate = -1;
      return;
    }
    if (code === 0) throw refuse(`a string at byte ${this.stringStart} contains \\u0000, which cannot be stored`);
    if (code >= 0xd800 && code <= 0xdbff) {
      this.highSurrogate = code;
      this.escape = Escape.LowBackslash;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      throw this.unpaired(code);
    }
  }

  private unpaired(code: number): AppError {
    return refuse(`a string at byte ${this.stringStart} contains an unpaired UTF-16 surrogate (\\u${code.toString(16)}), which cannot be stored`);
  }

  private endString(bytes: Uint8Array, i: number): void {
    this.inString = false;
    const end = this.base + i;
    const size = end - this.stringStart - 1;
    if (size > this.limits.maxStringBytes) {
      throw refuse(`a string at byte ${this.stringStart} is ${size} bytes long; the limit is ${this.limits.maxStringBytes / 1024} KiB (MAX_STRING_KB)`);
    }
    const depth = this.objects.length;
    const wanted = this.strict && this.stringIsKey && this.wantsKey(depth);
    // Unescaped, only the forbidden keys' own lengths can be one of them.
    const suspicious = this.stringEscaped ? size >= PROTO.length && size <= LONGEST_ESCAPED_KEY : size === PROTO.length || size === CONSTRUCTOR.length;
    if (wanted || suspicious) {
      const raw = this.stringBytes(bytes, i);
      if (suspicious) this.suspect = suspectOf(this.stringEscaped ? Buffer.from(decode(raw)) : raw);
      if (wanted) this.listener!.key(depth, this.stringEscaped ? decode(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8'));
    }
    if (!this.strict) return;
    if (this.stringIsKey) this.mode = Mode.Colon;
    else this.endValue(end + 1);
  }

  /** The raw bytes between the quotes of the string that ends at `i` of this chunk. */
  private stringBytes(bytes: Uint8Array, i: number): Uint8Array {
    const startInChunk = this.stringStart - this.base;
    if (startInChunk >= 0) return bytes.subarray(startInChunk + 1, i);
    return Buffer.concat([...this.carried, bytes.subarray(0, i)]).subarray(1);
  }

  /** Keeps what a chunk ended with of a string that may be needed whole. */
  private carry(bytes: Uint8Array): void {
    const startInChunk = Math.max(0, this.stringStart - this.base);
    const soFar = this.base + bytes.length - this.stringStart;
    const keyWanted = this.strict && this.stringIsKey && this.wantsKey(this.objects.length);
    if (keyWanted || soFar <= LONGEST_ESCAPED_KEY + 1) this.carried.push(Buffer.from(bytes.subarray(startInChunk)));
  }

  /** The byte after a possibly forbidden string: a colon makes it a key. */
  private checkSuspect(byte: number): void {
    const key = this.suspect;
    this.suspect = Suspect.None;
    if (byte !== COLON) return;
    if (key === Suspect.Proto) throw refuse(`forbidden key "__proto__" at byte ${this.stringStart} (prototype poisoning)`);
    if (key === Suspect.Prototype && this.constructorObjects.at(-1) === this.depth) {
      throw refuse(`forbidden key "constructor.prototype" at byte ${this.stringStart} (prototype poisoning)`);
    }
    this.afterConstructorKey = key === Suspect.Constructor;
  }
}

/** A string's raw bytes with escapes decoded (a bad escape: empty, as the syntax check reports it). */
function decode(raw: Uint8Array): string {
  try {
    return JSON.parse(`"${Buffer.from(raw).toString('utf8')}"`) as string;
  } catch {
    return '';
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Throws UNPROCESSABLE_PAYLOAD for the first limit the text breaks; says nothing
 * about syntax (parseJson reports that, with its position).
 */
export function checkJsonText(bytes: Uint8Array, limits: JsonLimits): void {
  const scanner = new JsonScanner(limits, { strict: false });
  scanner.write(bytes);
  scanner.end();
}

/**
 * UTF-8 checked as the bytes stream in: a character cut between two chunks is
 * held back until the next one completes it.
 */
export class Utf8Check {
  private offset = 0;
  private held: Uint8Array = new Uint8Array(0);
  /** Offset of the first byte that is not UTF-8; -1 while all is well. */
  firstBad = -1;

  write(chunk: Uint8Array): void {
    if (this.firstBad >= 0) return;
    const bytes = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const start = this.offset - this.held.length;
    const whole = completeLength(bytes);
    const body = bytes.subarray(0, whole);
    if (!isUtf8(body)) this.firstBad = start + firstInvalidUtf8(body);
    this.held = Buffer.from(bytes.subarray(whole));
    this.offset += chunk.length;
  }

  end(): void {
    if (this.firstBad < 0 && this.held.length > 0) this.firstBad = this.offset - this.held.length;
  }

  refusal(): AppError | null {
    if (this.firstBad < 0) return null;
    return new AppError('INVALID_JSON', `body is not valid UTF-8 (first bad byte at ${this.firstBad}); JSON must be sent as UTF-8`);
  }
}

/** Length of `bytes` without a multi-byte character cut off at its end. */
function completeLength(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let back = 1; back <= 3 && back <= length; back++) {
    const byte = bytes[length - back]!;
    if (byte < 0x80) return length;
    if (byte >= 0xc0) {
      const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return needs > back ? length - back : length;
    }
  }
  return length;
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
