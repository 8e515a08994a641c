/**
 * A new user's first minutes: `npm start` on an empty folder says where it
 * listens, where the data lives and which commands create the first key, and
 * those very commands work as printed; a mistyped setting stops start-up naming
 * the variable and the values it accepts.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { START, runCli, runProcess, startServerProcess, type ServerProcess } from '../helpers/process.js';

/** The start-up line's message. */
function startupLine(output: string): string {
  const line = output.split('\n').find((text) => text.includes('"msg":"listening on'));
  if (!line) throw new Error(`no start-up line in:\n${output}`);
  return (JSON.parse(line) as { msg: string }).msg;
}

/** The commands the start-up line tells the user to run, as CLI arguments. */
function printedCommands(message: string): string[][] {
  const commands = /run(?: in another terminal)?: (.*?)(?:; then npm start again|$)/.exec(message)?.[1];
  if (!commands) throw new Error(`no commands in: ${message}`);
  return commands.split(' && ').map((command) => {
    expect(command).toMatch(/^npm run cli -- /);
    return command.replace('npm run cli -- ', '').split(' ');
  });
}

/** Runs the printed commands in order; returns the key the last one printed. */
async function runPrinted(commands: string[][], env: Record<string, string>): Promise<string> {
  let output = '';
  for (const args of commands) {
    const result = await runCli(args, env);
    expect(result.stderr, args.join(' ')).toBe('');
    expect(result.code, args.join(' ')).toBe(0);
    output = result.stdout;
  }
  const key = /hea_[\w-]{43}/.exec(output)?.[0];
  if (!key) throw new Error(`no key in:\n${output}`);
  return key;
}

const ingestions = (server: ServerProcess, key: string) => fetch(`${server.url}/api/v1/ingestions`, { headers: { authorization: `Bearer ${key}` } });

describe('the first start on an empty folder', () => {
  const dirs: string[] = [];
  let server: ServerProcess | undefined;
  const freshDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hea-first-run-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('prints where it listens, where the data lives, and commands that create the first key once the server is stopped', async () => {
    const env = { DATA_DIR: await freshDir() };
    server = await startServerProcess(env);
    const message = startupLine(server.output());
    expect(message).toContain(`listening on ${server.url}`);
    expect(message).toContain(`data in embedded PostgreSQL (PGlite) in ${env.DATA_DIR}`);
    expect(message).toContain('No API key for a phone exists yet');
    expect(message).toContain('stop the server');
    await server.stop();
    // The pepper of a new embedded install: a file of its own beside the data, readable by its owner only.
    expect((await stat(path.join(env.DATA_DIR, 'api-key-pepper'))).mode & 0o777).toBe(0o600);

    const key = await runPrinted(printedCommands(message), env);
    server = await startServerProcess(env);
    expect((await ingestions(server, key)).status).toBe(200);
    // With a key in place the line says where, and no longer tells the user to stop the server for a key (it used to at every start).
    const again = startupLine(server.output());
    expect(again).toBe(`listening on ${server.url}; data in embedded PostgreSQL (PGlite) in ${env.DATA_DIR}`);
    // Two servers and two CLI runs each start PGlite, and a new folder is created by a child process first.
  }, 180_000);

  it('warns at start-up that TRUST_PROXY=true lets a client choose its address, naming the safer settings', async () => {
    server = await startServerProcess({ DATA_DIR: await freshDir(), TRUST_PROXY: 'true' });
    const warning = server.output().split('\n').find((line) => line.includes('TRUST_PROXY=true'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40 });
    expect(JSON.parse(warning!).msg).toMatch(/a client chooses its own address.*TRUST_PROXY=127\.0\.0\.1.*TRUST_PROXY=1/);
  });

  it('with ADMIN_API_KEY, prints commands that work while the server runs', async () => {
    const env = { DATA_DIR: await freshDir(), ADMIN_API_KEY: 'first-run-admin-key-0123456789-abcdef' };
    server = await startServerProcess(env);
    const message = startupLine(server.output());
    expect(message).toContain('run in another terminal');
    const key = await runPrinted(printedCommands(message), env);
    expect((await ingestions(server, key)).status).toBe(200);
  });
});

describe('a mistyped setting', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hea-first-run-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('stops start-up naming each variable and the values it accepts', async () => {
    const result = await runProcess(START, { DATA_DIR: dataDir, LOG_LEVEL: 'verbose', PORT: 'eighty', MIGRATE_ON_START: 'maybe' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('LOG_LEVEL="verbose": must be one of fatal, error, warn, info, debug, trace, silent');
    expect(result.stderr).toContain('PORT="eighty": must be a whole number from 0 to 65535');
    expect(result.stderr).toContain('MIGRATE_ON_START="maybe": must be one of true, false, 1, 0, yes, no, on, off');
    expect(result.stderr).toContain('.env.example');
  });

  it('starts with a misspelt name, and warns naming it and the setting it resembles', async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir, DATABSE_URL: 'postgres://127.0.0.1:1/nowhere' });
    try {
      const warning = server
        .output()
        .split('\n')
        .find((line) => line.includes('are not settings of this server'));
      expect(JSON.parse(warning!).variables).toEqual(['DATABSE_URL (closest setting: DATABASE_URL)']);
    } finally {
      await server.stop();
    }
  });
});
