/**
 * The test helper's stop(): a server stopped with SIGKILL must not live on. When
 * the server ran under tsx (a child process, which cannot relay SIGKILL), every
 * test that killed a server left one running, holding its port and data folder;
 * the benchmark's tsx entries still run that way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startServerProcess } from '../helpers/process.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('stopping a server process', () => {
  it('with SIGKILL leaves no server process behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hea-stop-'));
    try {
      const server = await startServerProcess({ DATA_DIR: dir });
      expect(alive(server.pid)).toBe(true);
      await server.stop('SIGKILL');
      for (let i = 0; i < 50 && alive(server.pid); i++) await sleep(100);
      expect(alive(server.pid)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
