/**
 * PostgreSQL's side of one chunk: the transaction the sample writer runs for
 * 5,000 quantity samples of a new person, its merge under EXPLAIN ANALYZE (and
 * rolled back) on the benchmark database after the throughput runs filled it,
 * split into its parts: the COPY into the staging table, the insert of the new
 * rows, the update of the changed ones, and the lookup that tells them apart.
 */
import pino from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { parseHae } from '../../src/ingest/hae/parse.js';
import type { HealthRecord } from '../../src/ingest/records.js';
import { createPostgresDatabase, type Database, type QueryOptions } from '../../src/storage/database.js';
import { createSampleWriter } from '../../src/storage/samples/writer.js';
import { generateHaePayload } from '../generate.js';
import { round } from '../lib/stats.js';

export interface ExplainFigure {
  rows: number;
  planningMs: number;
  executionMs: number;
  parts: { name: string; ms: number }[];
}

interface PlanNode {
  'Node Type': string;
  'Function Name'?: string;
  Operation?: string;
  'Actual Total Time'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

function nodes(node: PlanNode, all: PlanNode[] = []): PlanNode[] {
  all.push(node);
  for (const child of node.Plans ?? []) nodes(child, all);
  return all;
}

const total = (node: PlanNode | undefined) => (node ? (node['Actual Total Time'] ?? 0) * (node['Actual Loops'] ?? 1) : 0);

const rollback = new Error('rollback');

/**
 * Writes quantity samples of a new person until the first full chunk; its
 * transaction runs as the writer sends it (staging table, COPY) except that the
 * merge runs under EXPLAIN ANALYZE, and is then rolled back.
 */
async function explainFirstChunk(db: Database): Promise<ExplainFigure & { copyMs: number }> {
  const config = loadConfig({});
  const generated = generateHaePayload({ samples: 40_000, seed: 4242, start: Date.UTC(2023, 5, 1) });
  const items = parseHae(generated.payload, { limits: config.ingest.limits, now: new Date() });
  const user = await db.query<{ id: string }>(`INSERT INTO users (email) VALUES ('explain-${Date.now()}@example.com') RETURNING id`);
  let figure: (ExplainFigure & { copyMs: number }) | null = null;
  const explaining: Database = {
    ...db,
    transaction: (fn) =>
      db.transaction(async (tx) => {
        let copyMs = 0;
        let rows = 0;
        await fn({
          async copyFrom(table, columns, data) {
            const started = performance.now();
            rows = await tx.copyFrom(table, columns, data);
            copyMs = performance.now() - started;
            return rows;
          },
          async query<R>(text: string, params?: unknown[], options?: QueryOptions) {
            if (!text.includes('INSERT INTO quantity_samples') || rows === 0) return tx.query<R>(text, params, options);
            const { rows: plans } = await tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Planning Time': number; 'Execution Time': number }] }>(
              `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
              params,
            );
            figure = { ...summarise(plans[0]!['QUERY PLAN'][0], rows), copyMs: round(copyMs, 1) };
            throw rollback;
          },
        });
        throw new Error('the chunk was not written by COPY');
      }),
  };
  const writer = createSampleWriter({
    db: explaining,
    userId: user.rows[0]!.id,
    ingestionId: null,
    batch: config.batch,
    postgis: false,
    logger: pino({ level: 'silent' }),
    sink: { outcome: () => undefined, reject: () => undefined },
  });
  try {
    for (const item of items) {
      if (!item.ok || item.record.kind !== 'quantity') continue;
      await writer.add(item.record as HealthRecord);
      if (figure) break;
    }
    await writer.finish();
  } catch (error) {
    if (error !== rollback) throw error;
  }
  if (!figure) throw new Error('no chunk was written');
  return figure;
}

function summarise(plan: { Plan: PlanNode; 'Planning Time': number; 'Execution Time': number }, rows: number): ExplainFigure {
  const all = nodes(plan.Plan);
  const [insert, update] = all.filter((n) => n['Node Type'] === 'ModifyTable');
  const lookup = all.find((n) => n['Node Type'] === 'Nested Loop');
  const parts = [
    { name: 'INSERT of the new identities (heap and index writes, CHECK constraints)', ms: total(insert) },
    { name: 'INSERT … ON CONFLICT DO UPDATE of the changed ones (none: every row is new)', ms: total(update) },
    { name: 'looking up the stored rows to count and split them (one index probe per row)', ms: total(lookup) },
  ];
  return {
    rows,
    planningMs: round(plan['Planning Time'], 2),
    executionMs: round(plan['Execution Time'], 1),
    parts: parts.map((p) => ({ name: p.name, ms: round(p.ms, 1) })),
  };
}

export async function explainChunk(databaseUrl: string): Promise<ExplainFigure> {
  const db = createPostgresDatabase(
    { url: databaseUrl, poolSize: 1, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'bench-explain' },
    pino({ level: 'silent' }),
  );
  try {
    const { copyMs, ...figure } = await explainFirstChunk(db);
    return { ...figure, parts: [{ name: 'COPY into the staging table (measured by the client)', ms: copyMs }, ...figure.parts] };
  } finally {
    await db.close();
  }
}
