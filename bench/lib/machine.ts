/** What the figures were measured on: cores, memory, CPU, versions, and how busy the machine was. */
import { cpus, loadavg, totalmem, release } from 'node:os';
import pg from 'pg';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  node: string;
  postgres: string;
  /** 1-minute load average when the run started. */
  loadAtStart: number;
}

export async function describeMachine(postgresUrl: string): Promise<Machine> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return {
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      kernel: release(),
      node: process.version,
      postgres: rows[0]!.server_version,
      loadAtStart: load(),
    };
  } finally {
    await client.end();
  }
}

/** The 1-minute load average: above the core count, other work was competing with the benchmark. */
export const load = () => Math.round(loadavg()[0]! * 100) / 100;
