/**
 * PostgreSQL's side of one chunk: the statement the sample writer sends for
 * 5,000 quantity samples of a new person, run under EXPLAIN ANALYZE (and rolled
 * back) on the benchmark database after the throughput runs filled it, split into
 * its parts: expanding the JSON, the insert with its conflict checks, and the
 * lookup that tells inserted from updated and unchanged.
 */
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { detectFormat, parseJson } from '../../src/ingest/process.js';
import type { HealthRecord } from '../../src/ingest/records.js';
import type { Database } from '../../src/storage/database.js';
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

/** The writer's statement for the first full chunk of quantity samples, with its parameters (not executed). */
async function firstChunk(client: pg.Client): Promise<{ text: string; params: unknown[]; rows: number }> {
  const config = loadConfig({});
  const generated = generateHaePayload({ samples: 40_000, seed: 4242, start: Date.UTC(2023, 5, 1) });
  const { items } = detectFormat(parseJson(Buffer.from(JSON.stringify(generated.payload)), config.edge.json), { limits: config.ingest.limits, now: new Date() });
  const user = await client.query<{ id: string }>(`INSERT INTO users (email) VALUES ('explain-${Date.now()}@example.com') RETURNING id`);
  let captured: { text: string; params: unknown[] } | null = null;
  const db = {
    kind: 'postgres',
    async query(text: string, params?: unknown[]) {
      if (text.includes('json_to_recordset')) {
        captured ??= { text, params: params ?? [] };
        return { rows: [], rowCount: 0 };
      }
      const result = await client.query(text, params);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    // The chunk's transaction (with its rollups) on the same client; nothing is written anyway.
    transaction: (fn: (tx: Database) => Promise<unknown>) => fn(db),
  } as unknown as Database;
  const writer = createSampleWriter({
    db,
    userId: user.rows[0]!.id,
    ingestionId: null,
    batch: config.batch,
    postgis: false,
    logger: pino({ level: 'silent' }),
    sink: { outcome: () => undefined, reject: () => undefined },
  });
  for (const item of items) {
    if (!item.ok || item.record.kind !== 'quantity') continue;
    await writer.add(item.record as HealthRecord);
    if (captured) break;
  }
  await writer.finish();
  if (!captured) throw new Error('no chunk was written');
  const { text, params } = captured as { text: string; params: unknown[] };
  return { text, params, rows: (JSON.parse(params[0] as string) as unknown[]).length };
}

export async function explainChunk(databaseUrl: string): Promise<ExplainFigure> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const chunk = await firstChunk(client);
    await client.query('BEGIN');
    try {
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Planning Time': number; 'Execution Time': number }] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${chunk.text}`,
        chunk.params,
      );
      const plan = rows[0]!['QUERY PLAN'][0];
      const all = nodes(plan.Plan);
      const parse = all.find((n) => n['Function Name'] === 'json_to_recordset');
      const insert = all.find((n) => n['Node Type'] === 'ModifyTable');
      const lookup = all.find((n) => n['Node Type'] === 'Nested Loop');
      const parts = [
        { name: 'expanding the JSON parameter (json_to_recordset)', ms: total(parse) },
        { name: 'INSERT … ON CONFLICT DO UPDATE (conflict checks, heap and index writes)', ms: total(insert) },
        { name: 'looking up the stored rows to count updated and unchanged (one index probe per row)', ms: total(lookup) },
      ];
      return {
        rows: chunk.rows,
        planningMs: round(plan['Planning Time'], 2),
        executionMs: round(plan['Execution Time'], 1),
        parts: parts.map((p) => ({ name: p.name, ms: round(p.ms, 1) })),
      };
    } finally {
      await client.query('ROLLBACK');
    }
  } finally {
    await client.end();
  }
}
