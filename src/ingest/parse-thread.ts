/**
 * Parsing off the event loop: an upload's bytes go to a parse thread
 * (parse-worker.ts), which checks, parses, validates and normalises them, and
 * its samples come back a batch at a time. The thread that answers requests
 * only moves bytes and writes.
 *
 * Both directions are bounded: at most CHUNKS_IN_FLIGHT pieces of the body
 * (PIECE_BYTES each) wait for the parser, and the parser sends at most two
 * batches the writer has not taken yet. Threads are kept for the next upload
 * (starting one costs tens of milliseconds); at most MAX_THREADS parse at once,
 * and an upload beyond them waits for one to be free.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../shared/errors.js';
import type { Format, Plan } from './body-plan.js';
import type { BodySource } from './body.js';
import type { JsonLimits } from './json-guard.js';
import type { ParseContext, ParsedItem } from './records.js';

export type ToParser =
  | { type: 'start'; limits: JsonLimits; ctx: ParseContext }
  | { type: 'chunk'; bytes: Uint8Array; offset: number }
  | { type: 'end' }
  | { type: 'ack' };

export type FromParser =
  | { type: 'pulled' }
  | { type: 'refused'; code: ErrorCode; message: string; heapBytes: number }
  | { type: 'planned'; format: Format; reads: Plan['reads'] }
  | { type: 'items'; items: ParsedItem[]; bytesDone: number }
  | { type: 'done'; heapBytes: number }
  | { type: 'failed'; message: string };

const PIECE_BYTES = 1024 * 1024;
const CHUNKS_IN_FLIGHT = 4;
const MAX_THREADS = Math.max(2, availableParallelism());
/**
 * A thread whose heap grew past this is ended rather than kept: an idle thread
 * never collects the garbage of the large upload it parsed (measured: 150 MB
 * each, held after the upload), and a new one starts in milliseconds.
 */
const KEPT_HEAP_BYTES = 48 * 1024 * 1024;

/**
 * The worker's entry beside this file: parse-worker.js in dist/, or parse-worker.ts
 * under tsx or vitest, loaded through tsx's loader registered in the new thread (a
 * worker inherits neither vitest's transform nor, reliably, tsx's hooks).
 */
const here = fileURLToPath(import.meta.url);
const fromSource = path.extname(here) === '.ts';
const entry = path.join(path.dirname(here), `parse-worker${path.extname(here)}`);

function startThread(): Worker {
  if (!fromSource) return new Worker(entry);
  // tsx's ESM API (tsx/esm registers nothing outside the main thread); the package resolves it for `require` as .cjs.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const source = pathToFileURL(entry).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); });`, { eval: true });
}

const idle: Worker[] = [];
const waiting: ((worker: Worker) => void)[] = [];
let threads = 0;

async function acquire(): Promise<Worker> {
  const worker = idle.pop() ?? (threads < MAX_THREADS ? spawn() : await new Promise<Worker>((resolve) => waiting.push(resolve)));
  worker.ref();
  return worker;
}

function spawn(): Worker {
  threads++;
  const worker = startThread();
  worker.once('exit', () => {
    threads--;
    const index = idle.indexOf(worker);
    if (index >= 0) idle.splice(index, 1);
    const next = waiting.shift();
    if (next) next(spawn());
  });
  return worker;
}

function release(worker: Worker, heapBytes: number): void {
  if (heapBytes > KEPT_HEAP_BYTES) {
    void worker.terminate(); // its exit starts a thread for whoever waits
    return;
  }
  const next = waiting.shift();
  if (next) return next(worker);
  worker.unref(); // an idle parser does not keep the process alive
  idle.push(worker);
}

export interface ParsedBatch {
  items: ParsedItem[];
  /** Decompressed bytes of the body behind these items. */
  bytesDone: number;
}

/**
 * Parses `body` on a parse thread: first the format, once the whole body was
 * checked (or the refusal parseJson would throw, thrown), then the samples a
 * batch at a time. Leaving early (the writer failed) ends the thread.
 */
export async function* parseOffThread(body: BodySource, limits: JsonLimits, ctx: ParseContext): AsyncGenerator<Format | ParsedBatch> {
  const worker = await acquire();
  const inbox: FromParser[] = [];
  let wake: (() => void) | null = null;
  let pulledWake: (() => void) | null = null;
  let inFlight = 0;
  let stopped = false;
  const deliver = (message: FromParser) => {
    if (message.type === 'pulled') {
      inFlight--;
      pulledWake?.();
      return;
    }
    inbox.push(message);
    wake?.();
  };
  const onError = (error: Error) => deliver({ type: 'failed', message: error.stack ?? error.message });
  const onExit = (code: number) => deliver({ type: 'failed', message: `the parse thread exited (code ${code})` });
  worker.on('message', deliver).on('error', onError).on('exit', onExit);
  const next = async (): Promise<FromParser> => {
    while (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    return inbox.shift()!;
  };

  /** Sends the bytes of [from, to) to the parser, then `end`; a failure to read reaches the reader as `failed`. */
  const pump = async (from: number, to: number) => {
    try {
      let offset = 0;
      for await (const chunk of body.open()) {
        const chunkEnd = offset + chunk.length;
        for (let at = Math.max(from, offset); at < Math.min(to, chunkEnd); at += PIECE_BYTES) {
          while (inFlight >= CHUNKS_IN_FLIGHT && !stopped) await new Promise<void>((resolve) => (pulledWake = resolve));
          pulledWake = null;
          if (stopped) return;
          // A copy of its own, handed over rather than copied again (the chunk may be a view of a larger buffer).
          const piece = new Uint8Array(chunk.subarray(at - offset, Math.min(at + PIECE_BYTES, to, chunkEnd) - offset));
          inFlight++;
          worker.postMessage({ type: 'chunk', bytes: piece, offset: at } satisfies ToParser, [piece.buffer]);
        }
        offset = chunkEnd;
        if (offset >= to) break;
      }
      worker.postMessage({ type: 'end' } satisfies ToParser);
    } catch (error) {
      deliver({ type: 'failed', message: (error as Error).message });
      throw error;
    }
  };

  let clean = false;
  let heapBytes = 0;
  let reading: Promise<void> | null = null;
  try {
    worker.postMessage({ type: 'start', limits, ctx } satisfies ToParser);
    reading = pump(0, Infinity);
    // The parser answers once it has read the whole body, so the first read is over.
    const checked = await next();
    if (checked.type === 'refused') {
      clean = true;
      heapBytes = checked.heapBytes;
      throw new AppError(checked.code, checked.message);
    }
    if (checked.type !== 'planned') throw parserFailed(checked);
    yield checked.format;

    reading = (async () => {
      for (const { from, to } of checked.reads) await pump(from, to);
    })();
    for (let message = await next(); ; message = await next()) {
      if (message.type === 'done') {
        heapBytes = message.heapBytes;
        break;
      }
      if (message.type !== 'items') throw parserFailed(message);
      yield { items: message.items, bytesDone: message.bytesDone };
      worker.postMessage({ type: 'ack' } satisfies ToParser);
    }
    await reading;
    clean = true;
  } finally {
    worker.off('message', deliver).off('error', onError).off('exit', onExit);
    stopped = true;
    (pulledWake as (() => void) | null)?.(); // a pump waiting for room stops
    await reading?.catch(() => undefined);
    if (clean) release(worker, heapBytes);
    else void worker.terminate();
  }
}

function parserFailed(message: FromParser): Error {
  return message.type === 'failed' ? new Error(`parse thread failed: ${message.message}`) : new Error(`parse thread answered ${message.type} out of turn`);
}
