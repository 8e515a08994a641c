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
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/process.js';

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
  /** The user's upload of the fixture (made before the snippet ran, for all but the posting ones). */
  ingestionId: string;
}

/** The last line of the output that is a JSON object. */
const lastJson = (output: string) => JSON.parse(output.trim().split('\n').filter((line) => line.startsWith('{')).at(-1)!);

const expectations: Record<string, (run: Run) => void> = {
  'curl-post': ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', format: 'hae', counts: COUNTS }),
  'curl-post-gzip': ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', format: 'hae', counts: COUNTS }),
  'js-post': ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', counts: COUNTS }),
  'python-post': ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', counts: COUNTS }),
  'readme-post': ({ stdout }) => expect(lastJson(stdout)).toMatchObject({ status: 'completed', counts: COUNTS }),
  'curl-ingestions': ({ stdout, ingestionId }) => expect(lastJson(stdout)).toMatchObject({ items: [{ id: ingestionId, status: 'completed', counts: COUNTS }], next: null }),
  'readme-summary': ({ stdout }) =>
    expect((lastJson(stdout) as { items: { date: string }[] }).items.map((item) => item.date)).toEqual(['2024-03-13', '2024-03-14', '2024-03-15', '2024-03-16', '2024-03-17']),
  'readme-ingestions': ({ stdout, ingestionId }) => expect(lastJson(stdout)).toMatchObject({ items: [{ id: ingestionId, status: 'completed', counts: COUNTS }], next: null }),
  'curl-rejections': ({ stdout }) => {
    const { items } = lastJson(stdout) as { items: { reason: string }[] };
    expect(items.map((item) => item.reason).join('\n')).toSatisfy((text: string) => REASONS.every((reason) => text.includes(reason)));
  },
  'curl-rate-limit': ({ stdout }) => {
    expect(stdout).toMatch(/^x-ratelimit-remaining: \d+/im);
    expect(lastJson(stdout)).toMatchObject({ limit: expect.any(Number), remaining: expect.any(Number), window_seconds: expect.any(Number) });
  },
  'js-ingestions': ({ stdout, ingestionId }) => expect(stdout).toContain(`${ingestionId} `),
  'python-ingestions': ({ stdout, ingestionId }) => expect(stdout).toContain(`${ingestionId} `),
  'js-rejections': ({ stdout }) => expect(stdout.trim().split('\n')).toSatisfy((lines: string[]) => lines.length === 3 && REASONS.every((reason) => lines.some((line) => line.includes(reason)))),
  'python-rejections': ({ stdout }) => expect(stdout.trim().split('\n')).toSatisfy((lines: string[]) => lines.length === 3 && REASONS.every((reason) => lines.some((line) => line.includes(reason)))),
};

const RUNNERS: Record<string, { file: string; command: string[] }> = {
  sh: { file: 'snippet.sh', command: ['bash', '-eo', 'pipefail', 'snippet.sh'] },
  js: { file: 'snippet.mjs', command: [process.execPath, 'snippet.mjs'] },
  python: { file: 'snippet.py', command: ['python3', 'snippet.py'] },
};

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

  it('marks only blocks it knows how to run and check, and every expectation has its block', () => {
    for (const snippet of found) {
      expect(RUNNERS[snippet.language], `${snippet.document} ${snippet.name}: language ${snippet.language}`).toBeDefined();
      expect(expectations[snippet.name], `${snippet.document} ${snippet.name}: no expectation`).toBeDefined();
    }
    expect(found.map((snippet) => snippet.name).sort()).toEqual(Object.keys(expectations).sort());
  });

  it.each(found.map((snippet) => [`${snippet.document} ${snippet.name}`, snippet] as const))('%s runs and prints what it should', async (_title, snippet) => {
    const { key } = await t.userWithKey(`client-${++users}@example.com`, ['ingest', 'read']);
    const posting = snippet.name.endsWith('-post') || snippet.name.endsWith('-post-gzip');
    const ingestionId = posting ? '' : ((await t.ingest(readFixture(FIXTURE), key)).json() as { id: string }).id;
    const dir = await mkdtemp(path.join(tmpdir(), 'hea-client-'));
    dirs.push(dir);
    await symlink(fixturePath(FIXTURE), path.join(dir, 'export.json'));
    const runner = RUNNERS[snippet.language]!;
    await writeFile(path.join(dir, runner.file), snippet.code);
    const result = await run(runner.command, dir, { HEA_URL: url, HEA_KEY: key, ID: ingestionId });
    expect(result.stderr, `${snippet.name} wrote to stderr`).toBe('');
    expect(result.code, `${snippet.name} exit code; stdout:\n${result.stdout}`).toBe(0);
    expectations[snippet.name]!({ stdout: result.stdout, ingestionId });
  });
});
