/**
 * Runs the real server (or CLI) as a separate process, the way a user does, for
 * tests about start-up, locks, signals and crashes: the very commands of
 * `npm start` and `npm run cli`, on the built output in dist/ (npm test builds
 * it first). Other entries (the benchmark's servers) run through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/** An npm script of package.json as a command (the shell's `exec` dropped), with this node binary for `node`. */
function npmScript(name: string): string[] {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [command, ...args] = scripts[name]!.replace(/^exec /, '').split(' ');
  return command === 'node' ? [process.execPath, ...args] : [command!, ...args];
}

/**
 * The built output must be newer than every source file: `npm test` builds first,
 * `npx vitest` does not and would quietly run yesterday's code in these processes
 * (or serve yesterday's dashboard, test/helpers/browser.ts). Checked when a test
 * uses dist/, not for the whole run: a mutation run changes src/ on purpose and
 * runs no process.
 */
let buildChecked = false;
export function checkBuildIsCurrent(): void {
  if (buildChecked) return;
  const built = (() => {
    try {
      return statSync(path.join(ROOT, 'dist/main.js')).mtimeMs;
    } catch {
      return 0;
    }
  })();
  const src = path.join(ROOT, 'src');
  const changed = readdirSync(src, { recursive: true }).map(String).find((file) => statSync(path.join(src, file)).mtimeMs > built);
  if (changed) throw new Error(`dist/ is older than src/${changed}: run npm run build (npm test builds first)`);
  buildChecked = true;
}

/** What `npm start` runs. */
export const START = npmScript('start');
/** What `npm run cli --` runs, before the CLI's own arguments. */
export const CLI = npmScript('cli');

export interface ServerProcess {
  child: ChildProcess;
  /** The server's own pid: child.pid, except for a tsx entry, which runs it in a child of `child`. */
  pid: number;
  url: string;
  output: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  // A developer's .env (the README suggests ADMIN_API_KEY there) must not configure the processes under test.
  ENV_FILE: '',
  HOME: process.env.HOME ?? '/root',
  LOG_LEVEL: 'info',
  PORT: '0',
  HOST: '127.0.0.1',
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_ITERATIONS: '1',
  // The default 9464 would let only one test server per machine start: each takes a free port.
  METRICS_PORT: '0',
};

export interface StartOptions {
  /** TypeScript file to run (through tsx) instead of `npm start` (it must log `"pid"` and `"url"` once listening). */
  entry?: string;
  /** Options for node itself, such as --cpu-prof (refused in NODE_OPTIONS). */
  nodeArgs?: string[];
  /**
   * Send the output to this file instead of a pipe. Under load a pipe read by a busy
   * parent fills up, and the server then waits on its own (synchronous) log writes.
   */
  logFile?: string;
  /**
   * Run `npm start` itself, in a process group of its own as a terminal does, so a
   * test can send the group a Ctrl-C's SIGINT (`process.kill(-child.pid, ...)`).
   */
  npm?: boolean;
}

const LISTENING = /"pid":(\d+).*"url":"(http:\/\/[^"]+)"/;

/** Starts what `npm start` runs (or `options.entry`) with only the given environment; waits until it listens. */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 60_000, options: StartOptions = {}): Promise<ServerProcess> {
  const [node, ...script] = START;
  if (!options.entry) checkBuildIsCurrent();
  const nodeArgs = options.nodeArgs ?? [];
  const [command, args] = options.entry
    ? options.nodeArgs
      ? [process.execPath, [...nodeArgs, '--import', 'tsx', options.entry]]
      : [TSX, [options.entry]]
    : options.npm
      ? ['npm', ['start']]
      : [node!, [...nodeArgs, ...script]];
  const file = options.logFile ? openSync(options.logFile, 'a') : null;
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...BASE_ENV, ...env },
    stdio: ['ignore', file ?? 'pipe', file ?? 'pipe'],
    detached: options.npm ?? false,
  });
  if (file !== null) closeSync(file);
  let piped = '';
  child.stdout?.on('data', (chunk: Buffer) => (piped += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (piped += chunk.toString()));
  const output = () => (options.logFile ? readFileSync(options.logFile, 'utf8') : piped);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const [url, pid] = await new Promise<[string, number]>((resolve, reject) => {
    const check = () => {
      const match = LISTENING.exec(output());
      if (match) {
        stop();
        resolve([match[2]!, Number(match[1])]);
      }
    };
    const poll = options.logFile ? setInterval(check, 50) : undefined;
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const stop = () => {
      clearTimeout(timer);
      clearInterval(poll);
      child.stdout?.off('data', check);
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      stop();
      reject(new Error(`server exited with ${code} before listening:\n${output()}`));
    });
  });
  return {
    child,
    pid,
    url,
    output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (options.npm && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      } else if (child.exitCode === null && child.signalCode === null) {
        // tsx relays SIGTERM to the server it runs, but SIGKILL cannot be relayed: the server would live on, orphaned.
        if (signal === 'SIGKILL' && pid !== child.pid) {
          try {
            process.kill(pid, signal);
          } catch {
            // already gone
          }
        }
        child.kill(signal);
      }
      return exited;
    },
  };
}

/** Runs a command (such as START) to its end; resolves with its exit code and output. */
export function runProcess(command: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (command.some((part) => part.startsWith('dist/'))) checkBuildIsCurrent();
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { cwd: ROOT, env: { ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command.join(' ')} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI: `npm run cli -- ...args`. */
export function runCli(args: string[], env: Record<string, string>) {
  return runProcess([...CLI, ...args], env);
}
