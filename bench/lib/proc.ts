/**
 * Resource use of a process read from /proc (Linux): resident memory now and at
 * its peak, and CPU time, so the server and the PostgreSQL backends can be
 * measured from outside, as an operator would.
 */
import { readFileSync } from 'node:fs';

const PAGE_TICKS = 100; // USER_HZ: clock ticks per second on Linux

export interface Memory {
  /** Resident set size now (VmRSS), MB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), MB. */
  peakMb: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rssMb: field('VmRSS'), peakMb: field('VmHWM') };
}

/** User plus system CPU seconds the process has used; null when it is not visible (another host, ended). */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / PAGE_TICKS;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the highest seen. */
export function watchMemory(pid: number, everyMs = 50) {
  let highest = 0;
  const samples: { at: number; rssMb: number }[] = [];
  const started = Date.now();
  const take = () => {
    try {
      const { rssMb } = memoryOf(pid);
      highest = Math.max(highest, rssMb);
      samples.push({ at: Date.now() - started, rssMb });
    } catch {
      // the process ended
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { highestMb: highest, samples };
    },
  };
}

/** The server's PostgreSQL sessions (its pool), found by the application_name it connects with. */
async function serverSessions(db: { query(text: string): Promise<{ rows: unknown[] }> }): Promise<number[]> {
  const { rows } = await db.query(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'health-export-api server%'`,
  );
  return (rows as { pid: number }[]).map((row) => row.pid);
}

/**
 * CPU seconds used by the server process, and by its PostgreSQL sessions when
 * `db` (a connection to the same database, PostgreSQL on this machine) is given,
 * between the call and `stop()`. Sessions opened meanwhile count from zero.
 */
export async function cpuMeter(serverPid: number, db: { query(text: string): Promise<{ rows: unknown[] }> } | null) {
  const server = cpuSecondsOf(serverPid);
  const before = new Map<number, number>();
  for (const pid of db ? await serverSessions(db) : []) before.set(pid, cpuSecondsOf(pid) ?? 0);
  return {
    async stop(): Promise<{ serverS: number | null; databaseS: number | null }> {
      const serverAfter = cpuSecondsOf(serverPid);
      const sessions = db ? await serverSessions(db) : null;
      return {
        serverS: server === null || serverAfter === null ? null : serverAfter - server,
        databaseS: sessions === null ? null : sessions.reduce((sum, pid) => sum + (cpuSecondsOf(pid) ?? before.get(pid) ?? 0) - (before.get(pid) ?? 0), 0),
      };
    },
  };
}
