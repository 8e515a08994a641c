/**
 * The code in docs/clients.md and the README runs as printed. Every block whose
 * fence says `test=<name>` (```sh test=curl-post) is run against a real
 * listening server: sh with bash, js with node, python with python3; with
 * HEA_URL, HEA_KEY (a fresh user's ingest+read key) and ID (an upload of that
 * user with three rejected samples) in the environment, and export.json (a
 * Health Auto Export file) in its working directory. Its output is checked by
 * the expectation of the same name below; a marked block without one, or an
 * expectation without a block, fails the test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/process.js';
import { testServices } from '../helpers/services.js';

const DOCUMENTS = ['docs/clients.md', 'README.md'];
const FIXTURE = 'edge-cases-metrics.json';
/** What edge-cases-metrics.json gives a user who has never sent it. */
const COUNTS = { received: 18, inserted: 15, updated: 0, unchanged: 0, rejected: 3 };
const REASONS = ['systolic 70 must be above diastolic 95', 'qty must not be negative, got -4', 'date is missing'];

interface Snippet {
  name: string;
  language: string;
  code: string;
  document: string;
}

/** Marked fenced blocks, also indented ones (in a numbered list), with the indentation taken off. */
function snippets(): Snippet[] {
  return DOCUMENTS.flatMap((document) =>
    [...readFileSync(path.join(ROOT, document), 'utf8').matchAll(/^( *)```(\w+) test=([\w-]+)\n([\s\S]*?)^\1```$/gm)].map(([, indent, language, name, code]) => ({
      name: name!,
      language: language!,
      code: code!.replace(new RegExp(`^${indent}`, 'gm'), ''),
      document,
    })),
  );
}

interface Run {
  stdout: string;
  /** The working directory, for the files a snippet writes. */
  dir: string;
  /** The user's upload of the seed fixture, made before the snippet ran. */
  ingestionId: string;
}

/** The last line of the output that is a JSON object. */
const lastJson = (output: string) => JSON.parse(output.trim().split('\n').filter((line) => line.startsWith('{')).at(-1)!);
const lines = (output: string) => output.trim().split('\n');

const REAL = 'real-metrics-2024-03.json';
const DAYS = ['2024-03-13', '2024-03-14', '2024-03-15', '2024-03-16', '2024-03-17'];

/**
 * Per marked block: which fixture the user has uploaded before it runs (none
 * for the posting ones; the real month for the data ones, whose dates match
 * it), and what its output must show.
 */
const cases: Record<string, { seed?: string; check: (run: Run) => void }> = {
  'curl-post': { check: ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', format: 'hae', counts: COUNTS }) },
  'curl-post-gzip': { check: ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', format: 'hae', counts: COUNTS }) },
  'js-post': { check: ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', counts: COUNTS }) },
  'python-post': { check: ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', counts: COUNTS }) },
  'readme-post': { check: ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', counts: COUNTS }) },
  'curl-ingestions': {
    seed: FIXTURE,
    check: ({ stdout, ingestionId }) => expect(lastJson(stdout)).toMatchObject({ items: [{ id: ingestionId, status: 'completed', counts: COUNTS }], next: null }),
  },
  'readme-ingestions': {
    seed: FIXTURE,
    check: ({ stdout, ingestionId }) => expect(lastJson(stdout)).toMatchObject({ items: [{ id: ingestionId, status: 'completed', counts: COUNTS }], next: null }),
  },
  'curl-rejections': {
    seed: FIXTURE,
    check: ({ stdout }) => {
      const { items } = lastJson(stdout) as { items: { reason: string }[] };
      expect(items.map((item) => item.reason).join('\n')).toSatisfy((text: string) => REASONS.every((reason) => text.includes(reason)));
    },
  },
  'curl-rate-limit': {
    seed: FIXTURE,
    check: ({ stdout }) => {
      expect(stdout).toMatch(/^x-ratelimit-remaining: \d+/im);
      expect(lastJson(stdout)).toMatchObject({ limit: expect.any(Number), remaining: expect.any(Number), window_seconds: expect.any(Number) });
    },
  },
  'js-ingestions': { seed: FIXTURE, check: ({ stdout, ingestionId }) => expect(stdout).toContain(`${ingestionId} `) },
  'python-ingestions': { seed: FIXTURE, check: ({ stdout, ingestionId }) => expect(stdout).toContain(`${ingestionId} `) },
  'js-rejections': {
    seed: FIXTURE,
    check: ({ stdout }) => expect(lines(stdout)).toSatisfy((found: string[]) => found.length === 3 && REASONS.every((reason) => found.some((line) => line.includes(reason)))),
  },
  'python-rejections': {
    seed: FIXTURE,
    check: ({ stdout }) => expect(lines(stdout)).toSatisfy((found: string[]) => found.length === 3 && REASONS.every((reason) => found.some((line) => line.includes(reason)))),
  },
  'curl-summary': { seed: REAL, check: ({ stdout }) => expectSummary(lastJson(stdout)) },
  'readme-summary': { seed: REAL, check: ({ stdout }) => expectSummary(lastJson(stdout)) },
  'curl-metric': {
    seed: REAL,
    check: ({ stdout }) => {
      const { items } = lastJson(stdout) as { items: { unit: string; sent_unit: string; value: number }[] };
      expect(items).toHaveLength(5);
      for (const item of items) expect(item).toMatchObject({ unit: 'km', sent_unit: 'mi', value: expect.any(Number) });
    },
  },
  'curl-export': {
    seed: REAL,
    check: ({ dir }) => {
      const rows = lines(readFileSync(path.join(dir, 'health.csv'), 'utf8'));
      expect(rows[0]).toMatch(/^kind,type,start,end,source,/);
      expect(new Set(rows.slice(1).map((row) => row.split(',')[1]))).toEqual(new Set(['step_count', 'heart_rate']));
    },
  },
  'js-read': {
    seed: REAL,
    check: ({ stdout, dir }) => {
      expect(lines(stdout).filter((line) => /^2024-03-1\d /.test(line)).map((line) => line.split(' ')[0])).toEqual(DAYS);
      expect(stdout).toMatch(/^2024-03-14T\d\d:\d\d:00\.000Z \d+ \d+ \d+ /m);
      const first = JSON.parse(lines(readFileSync(path.join(dir, 'health.ndjson'), 'utf8'))[0]!) as { kind: string };
      expect(first.kind).toEqual(expect.any(String));
    },
  },
  'python-read': {
    seed: REAL,
    check: ({ stdout, dir }) => {
      expect(lines(stdout).filter((line) => /^2024-03-1\d /.test(line)).map((line) => line.split(' ')[0])).toEqual(DAYS);
      expect(stdout).toMatch(/^step_count count 1492 /m);
      expect(readFileSync(path.join(dir, 'health.csv'), 'utf8')).toMatch(/^kind,type,start,end,source,/);
    },
  },
};

/** Five days in New York of the real month: the first has no data, the 14th has steps and sleep. */
function expectSummary(summary: { items: { date: string; steps: number | null; sleep: { asleep_h: number | null } }[]; next: null }) {
  expect(summary.items.map((day) => day.date)).toEqual(DAYS);
  expect(summary.items[0]!.steps).toBeNull();
  expect(summary.items[1]!.steps).toBeGreaterThan(0);
  expect(summary.items[1]!.sleep.asleep_h).toBeGreaterThan(0);
}

/** How each language runs, and the programs it needs besides node. */
const RUNNERS: Record<string, { file: string; command: string[]; needs: string[] }> = {
  sh: { file: 'snippet.sh', command: ['bash', '-eo', 'pipefail', 'snippet.sh'], needs: ['bash', 'curl', 'gzip'] },
  js: { file: 'snippet.mjs', command: [process.execPath, 'snippet.mjs'], needs: [] },
  python: { file: 'snippet.py', command: ['python3', 'snippet.py'], needs: ['python3'] },
};

/** Programs not installed here: their snippets are skipped with a message, or fail the run under REQUIRE_SERVICES=1. */
const MISSING = new Set(['bash', 'curl', 'gzip', 'python3'].filter((program) => spawnSync(program, ['--version'], { stdio: 'ignore' }).error !== undefined));

function run(command: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the client code in the documentation', () => {
  const found = snippets();
  let t: TestApp;
  let url: string;
  let users = 0;
  const dirs: string[] = [];

  beforeAll(async () => {
    // Workers on, as under npm start, so that a 202 gets finished and polling ends.
    t = await createTestApp('embedded', { env: { INGEST_WORKERS: '1' } });
    t.app.services.ingest.start();
    url = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
  });
  afterAll(async () => {
    await t.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** Uploads a fixture for the user and waits until it is stored (a large one is answered 202). */
  async function upload(fixture: string, key: string): Promise<string> {
    let ingestion = (await t.ingest(readFixture(fixture), key)).json() as { id: string; status: string };
    for (let waited = 0; ingestion.status === 'queued' || ingestion.status === 'processing'; waited += 100) {
      if (waited > 120_000) throw new Error(`${fixture} was not processed within two minutes`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      ingestion = (await t.app.inject({ url: `/api/v1/ingestions/${ingestion.id}`, headers: { authorization: `Bearer ${key}` } })).json();
    }
    expect(ingestion.status, fixture).toBe('completed');
    return ingestion.id;
  }

  it('marks only blocks it knows how to run and check, and every expectation has its block', () => {
    for (const snippet of found) {
      expect(RUNNERS[snippet.language], `${snippet.document} ${snippet.name}: language ${snippet.language}`).toBeDefined();
      expect(cases[snippet.name], `${snippet.document} ${snippet.name}: no expectation`).toBeDefined();
    }
    expect(found.map((snippet) => snippet.name).sort()).toEqual(Object.keys(cases).sort());
  });

  it.for(found.map((snippet) => [`${snippet.document} ${snippet.name}`, snippet] as const))('%s runs and prints what it should', async ([, snippet], ctx) => {
    const absent = RUNNERS[snippet.language]!.needs.filter((program) => MISSING.has(program));
    if (absent.length > 0) {
      const message = `${snippet.document} ${snippet.name} needs ${absent.join(' and ')}, not installed here`;
      if (testServices.required) throw new Error(`REQUIRE_SERVICES=1 but ${message}`);
      console.warn(`[tests] ${message}: skipped`);
      ctx.skip(message);
    }
    const { key } = await t.userWithKey(`client-${++users}@example.com`, ['ingest', 'read']);
    const { seed, check } = cases[snippet.name]!;
    const ingestionId = seed ? await upload(seed, key) : '';
    const dir = await mkdtemp(path.join(tmpdir(), 'hea-client-'));
    dirs.push(dir);
    await symlink(fixturePath(FIXTURE), path.join(dir, 'export.json'));
    const runner = RUNNERS[snippet.language]!;
    await writeFile(path.join(dir, runner.file), snippet.code);
    const result = await run(runner.command, dir, { HEA_URL: url, HEA_KEY: key, ID: ingestionId });
    expect(result.stderr, `${snippet.name} wrote to stderr`).toBe('');
    expect(result.code, `${snippet.name} exit code; stdout:\n${result.stdout}`).toBe(0);
    check({ stdout: result.stdout, dir, ingestionId });
  });
});
