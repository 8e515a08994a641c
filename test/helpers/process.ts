/**
 * Runs the real server (or CLI) as a separate process, the way a user does, for
 * tests about start-up, locks, signals and crashes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

export interface ServerProcess {
  child: ChildProcess;
  /** The server's own pid (tsx runs it in a child of `child`). */
  pid: number;
  url: string;
  output: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const BASE_ENV = {
  PATH: process.env.PATH ?? '',
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
  /** Script to run instead of `npm start`'s entry (it must log `"pid"` and `"url"` once listening). */
  entry?: string;
  /** Options for node itself, such as --cpu-prof (refused in NODE_OPTIONS). */
  nodeArgs?: string[];
  /**
   * Send the output to this file instead of a pipe. Under load a pipe read by a busy
   * parent fills up, and the server then waits on its own (synchronous) log writes.
   */
  logFile?: string;
}

const LISTENING = /"pid":(\d+).*"url":"(http:\/\/[^"]+)"/;

/** Starts `npm start`'s entry with only the given environment; waits until it listens. */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 60_000, options: StartOptions = {}): Promise<ServerProcess> {
  const entry = options.entry ?? 'src/main.ts';
  const [command, args] = options.nodeArgs ? [process.execPath, [...options.nodeArgs, '--import', 'tsx', entry]] : [TSX, [entry]];
  const file = options.logFile ? openSync(options.logFile, 'a') : null;
  const child = spawn(command, args, { cwd: ROOT, env: { ...BASE_ENV, ...env }, stdio: ['ignore', file ?? 'pipe', file ?? 'pipe'] });
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
      if (child.exitCode === null && child.signalCode === null) {
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

/** Runs a process to its end; resolves with its exit code and output. */
export function runProcess(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, args, { cwd: ROOT, env: { ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts the CLI: `npm run cli -- ...args`. */
export function runCli(args: string[], env: Record<string, string>) {
  return runProcess(['src/cli/index.ts', ...args], env);
}
