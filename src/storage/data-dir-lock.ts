/**
 * PGlite takes no lock of its own, and a second process opening the same folder
 * silently loses writes. The server holds this exclusive lock file in DATA_DIR for
 * its whole life; a CLI finding it held talks to the running server instead.
 */
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface LockOwner {
  pid: number;
  /** Where the holder's HTTP API answers, once it listens. */
  url?: string;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    super(`the embedded database in ${dataDir} is in use by process ${owner.pid}${owner.url ? ` (${owner.url})` : ''}`);
  }
}

export interface DataDirLock {
  /** Records the URL the holder serves, so CLI commands can reach it. */
  announce(url: string): Promise<void>;
  release(): Promise<void>;
}

const lockPath = (dataDir: string) => path.join(dataDir, 'server.lock');

export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const file = lockPath(dataDir);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid } satisfies LockOwner));
      await handle.close();
      return {
        announce: (url) => writeFile(file, JSON.stringify({ pid: process.pid, url } satisfies LockOwner)),
        release: () => rm(file, { force: true }),
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = await readLockOwner(dataDir);
      if (owner && isAlive(owner.pid)) throw new DataDirLockedError(dataDir, owner);
      // The holder died without releasing it: the lock is stale.
      await rm(file, { force: true });
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

export async function readLockOwner(dataDir: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await readFile(lockPath(dataDir), 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
