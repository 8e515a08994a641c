/**
 * npm run bench            the full run (under 15 minutes): writes bench/results/<date>.json and docs/benchmarks.md
 * npm run bench -- --quick every scenario, briefly (under a minute), writes nothing: CI runs it so the suite never rots
 * npm run bench -- --only=ingest,memory   some scenarios, writes nothing
 *
 * Starts the server as a user does (tsx src/main.ts with environment variables)
 * against the local PostgreSQL (a database of its own, dropped afterwards) and
 * Redis, then the embedded database, and measures each figure next to its
 * reference from the same run. BENCH_DATABASE_URL and BENCH_REDIS_URL override
 * the default local services. A run fails (exit 1) when an upload does not
 * complete with counts that add up; a missed target is reported, not a failure.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, startServerProcess } from '../test/helpers/process.js';
import { embeddedCeiling, postgresCeiling } from './lib/ceiling.js';
import { describeMachine, load } from './lib/machine.js';
import { createBenchDatabase, createDataDir, logFile, logsFolder, removeLogs, SERVICES } from './lib/services.js';
import { startBenchServer, type Target } from './lib/server.js';
import { renderMarkdown, checkTargets, printSummary, type Results } from './report.js';
import { measureAppleHealthImport } from './scenarios/apple-health.js';
import { explainChunk } from './scenarios/explain.js';
import { measureIngest } from './scenarios/ingest.js';
import { measureMemory, payloadOfSize } from './scenarios/memory.js';
import { measureOverheads } from './scenarios/overheads.js';
import { profileIngest } from './scenarios/profile.js';
import { measureReads } from './scenarios/reads.js';
import { measureRedisHang } from './scenarios/redis-hang.js';
import { measureSmallUploads } from './scenarios/small-uploads.js';

const SCENARIOS = ['overheads', 'redis-hang', 'small-uploads', 'ingest', 'memory', 'profile', 'reads', 'apple-health', 'embedded'] as const;
type Scenario = (typeof SCENARIOS)[number];

const FULL = {
  ingest: { sizes: [10_000, 100_000, 500_000], reps: 3 },
  embeddedIngest: { sizes: [10_000, 100_000, 500_000], reps: 3 },
  memory: { megabytes: 95, reps: 3, embeddedReps: 1, settleSeconds: 30 },
  small: { rate: 500, connections: 50, seconds: 30, closedSeconds: 5, reps: 3 },
  overheads: { seconds: 3, reps: 3 },
  redisHang: { keys: 200 },
  profileSamples: 500_000 as number | null,
  reads: { days: 365, uploadDays: 73, reps: 20, exportReps: 3, referenceReps: 5, profileExport: true },
  appleHealth: { megabytes: 1024 },
};
const QUICK: typeof FULL = {
  ingest: { sizes: [10_000], reps: 1 },
  embeddedIngest: { sizes: [10_000], reps: 1 },
  memory: { megabytes: 5, reps: 1, embeddedReps: 0, settleSeconds: 2 },
  small: { rate: 500, connections: 50, seconds: 3, closedSeconds: 2, reps: 1 },
  overheads: { seconds: 1, reps: 1 },
  redisHang: { keys: 10 },
  profileSamples: null,
  reads: { days: 7, uploadDays: 7, reps: 3, exportReps: 1, referenceReps: 1, profileExport: false },
  appleHealth: { megabytes: 5 },
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((arg) => arg.startsWith('--only='));
const only = onlyArg ? (onlyArg.slice('--only='.length).split(',') as Scenario[]) : null;
const unknown = [...(only ?? []).filter((s) => !SCENARIOS.includes(s)), ...args.filter((a) => a !== '--quick' && !a.startsWith('--only='))];
if (unknown.length > 0) {
  process.stderr.write(`unknown: ${unknown.join(' ')}\nusage: npm run bench [-- --quick] [-- --only=${SCENARIOS.join(',')}]\n`);
  process.exit(2);
}
const plan = quick ? QUICK : FULL;
const wanted = (scenario: Scenario) => (only ? only.includes(scenario) : scenario !== 'profile' || plan.profileSamples !== null);
const writesFiles = !quick && !only;

const began = Date.now();
const log = (line: string) => process.stdout.write(`[${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
/** What to undo, newest first: servers to stop, connections to close, databases and folders to remove. */
const cleanups: [string, () => Promise<unknown>][] = [];
const cleanUp = async () => {
  for (const [name, step] of cleanups.splice(0).reverse()) {
    const started = Date.now();
    await step().catch((error: unknown) => log(`${name}: ${(error as Error).message}`));
    if (Date.now() - started > 2000) log(`${name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
};
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

async function main(): Promise<Results> {
  const machine = await describeMachine(SERVICES.postgresUrl);
  log(`${quick ? 'quick' : only ? `only ${only.join(', ')}` : 'full'} run on ${machine.cores} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}, PostgreSQL ${machine.postgres}, load ${machine.loadAtStart}`);
  const results: Results = { date: new Date().toISOString(), mode: quick ? 'quick' : only ? 'partial' : 'full', machine, plan, load: {}, ingest: {}, memory: {} };
  const track = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const before = load();
    log(`${name}…`);
    const value = await work();
    results.load[name] = { before, after: load() };
    return value;
  };

  const database = await createBenchDatabase();
  cleanups.push(['drop the benchmark database', () => database.drop()]);
  const postgres: Target = { kind: 'postgres', location: database.url };
  const server = await startBenchServer(postgres);
  cleanups.push(['stop the server', () => server.process.stop()]);
  log(`server ${server.pid} on ${server.url}, database ${database.name}`);

  if (wanted('overheads')) {
    const { key } = await server.newKey('overheads');
    results.overheads = await track('per-request overheads', () => measureOverheads(postgres, key, { ...plan.overheads, log }));
  }
  if (wanted('redis-hang')) {
    results.redisHang = await track('new keys while Redis hangs', () => measureRedisHang(postgres, { ...plan.redisHang, log }));
  }
  if (wanted('small-uploads')) {
    const bare = await startServerProcess({}, 60_000, { entry: 'bench/servers/bare.ts', logFile: logFile('bare') });
    cleanups.push(['stop the bare server', () => bare.stop()]);
    results.smallUploads = await track('small uploads under load', () => measureSmallUploads(server, bare.url, database.url, { ...plan.small, log }));
  }
  if (wanted('ingest')) {
    const ceiling = await postgresCeiling(database.url);
    cleanups.push(['close the ceiling connection', () => ceiling.close()]);
    results.ingest.postgres = await track('ingest throughput, PostgreSQL', () =>
      measureIngest(server, { ...plan.ingest, ceiling, databaseUrl: database.url, log }),
    );
    const explained = await track('EXPLAIN ANALYZE of one chunk', () => explainChunk(database.url));
    log(`  ${explained.rows} rows: planning ${explained.planningMs} ms, execution ${explained.executionMs} ms; ${explained.parts.map((p) => `${p.name.split(' (')[0]} ${p.ms} ms`).join('; ')}`);
    results.explain = explained;
  }
  await server.stop();

  // The next servers start fresh (memory is about one process's life), on the same database.
  const samePostgres = async () => ({ target: postgres, drop: async () => undefined });
  if (wanted('memory') && plan.memory.reps > 0) {
    const payload = payloadOfSize(plan.memory.megabytes);
    results.memory.postgres = await track('memory, PostgreSQL', () => measureMemory(samePostgres, payload, { ...plan.memory, log }));
    if (wanted('embedded') && plan.memory.embeddedReps > 0) {
      const folder = async () => {
        const dir = await createDataDir();
        return { target: { kind: 'embedded' as const, location: dir.dir }, drop: () => dir.drop() };
      };
      results.memory.embedded = await track('memory, embedded', () =>
        measureMemory(folder, payload, { ...plan.memory, reps: plan.memory.embeddedReps, log }),
      );
    }
  }
  if (wanted('profile') && plan.profileSamples) {
    results.profile = await track('CPU profile of one upload', () => profileIngest(postgres, plan.profileSamples!));
  }
  if (wanted('apple-health')) {
    // Its own database: an export of a few years must not weigh on the read figures.
    const own = await createBenchDatabase();
    cleanups.push(['drop the Apple Health database', () => own.drop()]);
    results.appleHealth = await track(`Apple Health import, ${plan.appleHealth.megabytes} MB export.xml, PostgreSQL`, () =>
      measureAppleHealthImport(own.url, { ...plan.appleHealth, log }),
    );
    const a = results.appleHealth;
    log(`  ${a.samples} records in ${a.seconds} s: ${a.recordsPerSecond} records/s; RSS ${a.rssStartMb} → ${a.rssPeakMb} MB (+${a.rssGrowthMb} MB)`);
  }
  // Last on this database: loading a year would leave autovacuum work behind for the figures above. PostgreSQL only.
  if (wanted('reads')) {
    results.reads = await track('reads, PostgreSQL', () => measureReads(postgres, { ...plan.reads, databaseUrl: database.url, log }));
  }
  await cleanUp();

  if (wanted('embedded')) {
    log('starting the embedded server and the embedded ceiling (each initialises a database folder)…');
    const [dir, ceilingDir] = await Promise.all([createDataDir(), createDataDir()]);
    cleanups.push(['remove the embedded data folder', () => dir.drop()], ['remove the ceiling data folder', () => ceilingDir.drop()]);
    const [embedded, ceiling] = await Promise.all([startBenchServer({ kind: 'embedded', location: dir.dir }), embeddedCeiling(ceilingDir.dir)]);
    cleanups.push(['stop the embedded server', () => embedded.stop()], ['close the embedded ceiling', () => ceiling.close()]);
    results.ingest.embedded = await track('ingest throughput, embedded', () =>
      measureIngest(embedded, { ...plan.embeddedIngest, ceiling, databaseUrl: null, log }),
    );
    await cleanUp();
  }
  return results;
}

try {
  const results = await main();
  results.durationS = Math.round((Date.now() - began) / 1000);
  results.targets = checkTargets(results);
  printSummary(results, log);
  if (writesFiles) {
    const day = results.date.slice(0, 10);
    const json = path.join(ROOT, 'bench/results', `${day}.json`);
    await mkdir(path.dirname(json), { recursive: true });
    await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
    const analysis = await readFile(path.join(ROOT, 'bench/analysis.md'), 'utf8').catch(() => '');
    await writeFile(path.join(ROOT, 'docs/benchmarks.md'), renderMarkdown(results, `bench/results/${day}.json`, analysis));
    log(`wrote bench/results/${day}.json and docs/benchmarks.md`);
  }
  await removeLogs();
  log(`done in ${results.durationS} s`);
} catch (error) {
  log(`FAILED: ${(error as Error).stack ?? error}`);
  await cleanUp();
  if (logsFolder()) log(`server logs kept in ${logsFolder()}`);
  process.exit(1);
}
await cleanUp();
