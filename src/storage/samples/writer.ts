/**
 * Takes normalised records one at a time and writes them in chunks, while the
 * caller goes on parsing: at most two chunks are in flight, so parsing, the
 * database and the network overlap. Each chunk is one transaction (upsert.ts);
 * what is left when the records end, one chunk per table, goes in one transaction
 * together, so a small upload commits once. Identities are collapsed within a
 * chunk (last one wins); a chunk a constraint refuses is split until the
 * offending row stands alone and is rejected with the database's reason, so one
 * bad row never costs its neighbours. Transient errors, and new rows another
 * writer stored first, are retried with exponential backoff.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import type { HealthRecord, Rejection, WorkoutRecord } from '../../ingest/records.js';
import type { Metrics } from '../../monitoring/metrics.js';
import { isTransientError, type Database } from '../database.js';
import { ensurePartitions } from '../partitions.js';
import { maintainRollups } from '../rollups.js';
import { TABLES, type ChunkedKind, type Row, type TableSpec } from './tables.js';
import { isDataError, isRace, writeChunk, type Owner, type TypeCounts } from './upsert.js';
import { writeWorkout } from './workouts.js';

export type Outcome = 'inserted' | 'updated' | 'unchanged';

export interface WriterSink {
  outcome(type: string, outcome: Outcome, count: number): void;
  /** A sample the database refused (a CHECK constraint the validation did not catch). */
  reject(rejection: Rejection): void;
}

interface Entry {
  row: Row;
  record: HealthRecord;
}

interface Chunk {
  spec: TableSpec<never>;
  entries: Entry[];
}

const MAX_IN_FLIGHT = 2;

/** The identity columns that vary within one writer's rows (all of them but user_id), per kind. */
const ROW_KEYS = Object.fromEntries(
  Object.entries(TABLES).map(([kind, spec]) => [kind, spec.key.filter((column) => column !== 'user_id')]),
) as Record<ChunkedKind, string[]>;

type WriterMetrics = Pick<Metrics, 'batchWritten' | 'batchRows' | 'error'>;
const UNMEASURED: WriterMetrics = { batchWritten: () => undefined, batchRows: () => undefined, error: () => undefined };

export function createSampleWriter(options: {
  db: Database;
  userId: string;
  ingestionId: string | null;
  batch: Config['batch'];
  postgis: boolean;
  sink: WriterSink;
  logger: Logger;
  /** Where write timings go; tools that write outside an app (benchmarks, tests) may leave it out. */
  metrics?: WriterMetrics;
}) {
  const { db, batch, sink } = options;
  const metrics = options.metrics ?? UNMEASURED;
  const owner: Owner = { userId: options.userId, ingestionId: options.ingestionId };
  const buffers = new Map<ChunkedKind, Map<string, Entry>>();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;

  async function retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (!(isTransientError(error) || isRace(error)) || attempt >= batch.maxRetries) throw error;
        const delay = Math.min(batch.initialBackoffMs * 2 ** attempt, batch.maxBackoffMs);
        metrics.error('database_retry');
        options.logger.warn({ err: error, attempt: attempt + 1, delay }, 'transient database error; retrying');
        await sleep(delay);
      }
    }
  }

  /**
   * Writes chunks (one per table) in one transaction and reports their counts once
   * it commits. A chunk a constraint refuses is written again on its own, and split
   * until the refused row stands alone.
   */
  async function write(chunks: Chunk[]): Promise<void> {
    try {
      const written = await retrying(() =>
        db.transaction(async (tx) => {
          const done: { chunk: Chunk; counts: Map<string, TypeCounts>; seconds: number }[] = [];
          for (const chunk of chunks) {
            const started = performance.now();
            const rows = chunk.entries.map((entry) => entry.row);
            const counts = await writeChunk(tx, chunk.spec, owner, rows);
            // The summary's rollups change with the samples, in the same transaction: never stale.
            await maintainRollups(tx, chunk.spec, owner, rows);
            done.push({ chunk, counts, seconds: (performance.now() - started) / 1000 });
          }
          return done;
        }),
      );
      for (const { chunk, counts, seconds } of written) {
        metrics.batchWritten(chunk.spec.table, seconds, chunk.entries.length);
        for (const [type, c] of counts) {
          sink.outcome(type, 'inserted', c.inserted);
          sink.outcome(type, 'updated', c.updated);
          sink.outcome(type, 'unchanged', c.unchanged);
        }
      }
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (chunks.length > 1) {
        for (const chunk of chunks) await write([chunk]);
        return;
      }
      const { spec, entries } = chunks[0]!;
      if (entries.length === 1) {
        const { record } = entries[0]!;
        refusedByDatabase(record.type, record.raw, error);
        return;
      }
      const middle = Math.ceil(entries.length / 2);
      await write([{ spec, entries: entries.slice(0, middle) }]);
      await write([{ spec, entries: entries.slice(middle) }]);
    }
  }

  /** Writes what the buffers hold, all of it in one transaction. */
  async function flush(taken: [ChunkedKind, Map<string, Entry>][]): Promise<void> {
    const chunks: Chunk[] = [];
    for (const [kind, buffer] of taken) {
      const spec = TABLES[kind] as TableSpec<never>;
      const entries = [...buffer.values()];
      if (spec.partitioned) {
        // Rows hold Date.toISOString() output (UTC, 'YYYY-MM-...'): the month is its first 7 characters,
        // without parsing each one back into a Date (6 % of the server's CPU on a 500,000-sample upload).
        const months = new Set<string>();
        for (const entry of entries) months.add((entry.row.start_at as string).slice(0, 7));
        await retrying(() => ensurePartitions(db, spec.partitioned!, months));
      }
      chunks.push({ spec, entries });
    }
    await write(chunks);
  }

  async function flushWorkout(workout: WorkoutRecord): Promise<void> {
    try {
      const started = performance.now();
      const outcome = await retrying(() => writeWorkout(db, workout, owner, options.postgis));
      metrics.batchWritten('workouts', (performance.now() - started) / 1000, 1);
      metrics.batchRows('workout_route_points', workout.route.length);
      metrics.batchRows('workout_series', workout.series.length);
      sink.outcome(workout.type, outcome, 1);
    } catch (error) {
      if (!isDataError(error)) throw error;
      refusedByDatabase(workout.type, workout.raw, error);
    }
  }

  /** A sample the database refused (a value outside a column's range): rejected with PostgreSQL's words, the rest goes on. */
  function refusedByDatabase(type: string, raw: unknown, error: unknown): void {
    sink.reject({ type, category: 'range', reason: `refused by the database: ${(error as Error).message}`, sample: raw });
  }

  /** Starts a write; resolves once there is room for another, letting the query go out meanwhile. */
  async function launch(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error: unknown) => {
      failure ??= error;
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    else await new Promise((resolve) => setImmediate(resolve));
    if (failure) throw failure;
  }

  return {
    /** Adds a record; when the returned promise exists, await it before adding more. */
    add(record: HealthRecord): Promise<void> | undefined {
      if (failure) throw failure;
      if (record.kind === 'workout') return launch(flushWorkout(record));
      const spec = TABLES[record.kind] as TableSpec<HealthRecord>;
      const row = spec.toRow(record);
      let buffer = buffers.get(record.kind);
      if (!buffer) buffers.set(record.kind, (buffer = new Map()));
      let key = '';
      for (const column of ROW_KEYS[record.kind]) key += `${String(row[column])}\u0000`;
      const earlier = buffer.get(key);
      if (earlier) {
        // Collapsed within the payload: the last one wins; the earlier counts against it.
        const same = spec.values.every((column) => JSON.stringify(earlier.row[column]) === JSON.stringify(row[column]));
        sink.outcome(record.type, same ? 'unchanged' : 'updated', 1);
        buffer.delete(key);
      }
      buffer.set(key, { row, record });
      if (buffer.size < batch.chunkSize) return undefined;
      buffers.delete(record.kind);
      return launch(flush([[record.kind, buffer]]));
    },

    async finish(): Promise<void> {
      // What is left of every table goes in one transaction: a small upload is one commit, not one per table.
      const rest = [...buffers];
      buffers.clear();
      if (rest.length > 0) await launch(flush(rest));
      await Promise.all(inFlight);
      if (failure) throw failure;
    },
  };
}

export type SampleWriter = ReturnType<typeof createSampleWriter>;
