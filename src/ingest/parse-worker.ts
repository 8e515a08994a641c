/**
 * A parse thread (started by parse-thread.ts): reads an upload's chunks as the
 * main thread sends them, twice (body-plan.ts), and sends back what the
 * parsers made of each slice, a batch at a time. It waits for the main thread
 * to acknowledge a batch before sending more than BATCHES_IN_FLIGHT, so a slow
 * database holds the parsing back instead of filling memory with samples.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { AppError } from '../shared/errors.js';
import { BodyScan, SliceCutter, parseUnit } from './body-plan.js';
import type { FromParser, ToParser } from './parse-thread.js';
import type { ParsedItem } from './records.js';

/** Small enough that taking a batch in (its copy and the writer's work) is a short task for the main thread. */
const BATCH_ITEMS = 500;
const BATCHES_IN_FLIGHT = 2;

const port = parentPort!;
const post = (message: FromParser) => port.postMessage(message);

const inbox: ToParser[] = [];
let wakeInbox: (() => void) | null = null;
let credits = BATCHES_IN_FLIGHT;
let wakeCredits: (() => void) | null = null;

port.on('message', (message: ToParser) => {
  if (message.type === 'ack') {
    credits++;
    wakeCredits?.();
  } else {
    inbox.push(message);
    wakeInbox?.();
  }
});

async function next(): Promise<ToParser> {
  while (inbox.length === 0) await new Promise<void>((resolve) => (wakeInbox = resolve));
  wakeInbox = null;
  return inbox.shift()!;
}

async function send(items: ParsedItem[], bytesDone: number): Promise<void> {
  while (credits === 0) await new Promise<void>((resolve) => (wakeCredits = resolve));
  wakeCredits = null;
  credits--;
  post({ type: 'items', items, bytesDone });
}

/** This thread's heap, garbage included: V8 collects it only when the thread allocates again. */
const heapBytes = () => getHeapStatistics().total_heap_size;

async function job(start: Extract<ToParser, { type: 'start' }>): Promise<void> {
  credits = BATCHES_IN_FLIGHT;
  const scan = new BodyScan(start.limits);
  for (let message = await next(); message.type === 'chunk'; message = await next()) {
    scan.write(message.bytes);
    post({ type: 'pulled' });
  }
  let plan;
  try {
    plan = scan.finish();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    post({ type: 'refused', code: error.code, message: error.message, heapBytes: heapBytes() });
    return;
  }
  post({ type: 'planned', format: plan.format, reads: plan.reads });

  const cutter = new SliceCutter(plan.units);
  let batch: ParsedItem[] = [];
  let bytesDone = 0;
  for (let read = 0; read < plan.reads.length; read++) {
    for (let message = await next(); message.type === 'chunk'; message = await next()) {
      for (const { unit, text } of cutter.take(message.bytes, message.offset)) {
        for (const item of parseUnit(unit, text, start.ctx)) {
          batch.push(item);
          if (batch.length >= BATCH_ITEMS) {
            await send(batch, bytesDone);
            batch = [];
          }
        }
        bytesDone = Math.max(bytesDone, unit.end);
      }
      post({ type: 'pulled' });
    }
  }
  if (!cutter.done) throw new Error('the body ended before the last slice the first read found');
  if (batch.length > 0) await send(batch, bytesDone);
  post({ type: 'done', heapBytes: heapBytes() });
}

for (;;) {
  const message = await next();
  if (message.type !== 'start') continue;
  try {
    await job(message);
  } catch (error) {
    post({ type: 'failed', message: (error as Error).stack ?? String(error) });
  }
}
