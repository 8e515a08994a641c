/**
 * Apple Health import: a generated export.xml of a chosen size read from a file
 * (never held in memory) through processBody into a database of its own, in
 * this process. Reports records per second end to end (parse, map, validate,
 * write) and how far this process's RSS grew above where it started.
 *
 * In process rather than through a server: the figure is the import's (parse,
 * map, validate, write), not the upload's archiving, which the archive's own
 * scenarios measure.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { BodySource } from '../../src/ingest/body.js';
import { processBody } from '../../src/ingest/process.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { createPostgresDatabase } from '../../src/storage/database.js';
import { migrate } from '../../src/storage/migrate.js';
import { ingestionsRepository } from '../../src/storage/repositories/ingestions.js';
import { writeAppleHealthExport } from '../apple-health-export.js';
import { round } from '../lib/stats.js';

export interface AppleHealthFigure {
  exportMb: number;
  samples: number;
  seconds: number;
  recordsPerSecond: number;
  rssStartMb: number;
  rssPeakMb: number;
  rssGrowthMb: number;
  /** Seconds spent generating the file (not part of the import). */
  generateSeconds: number;
}

function fileSource(file: string, size: number): BodySource {
  return { size, open: () => createReadStream(file, { highWaterMark: 1024 * 1024 }) };
}

export async function measureAppleHealthImport(databaseUrl: string, options: { megabytes: number; log: (line: string) => void }): Promise<AppleHealthFigure> {
  const file = path.join(tmpdir(), `hea-apple-export-${process.pid}.xml`);
  const generating = performance.now();
  const generated = await writeAppleHealthExport(file, options.megabytes);
  const generateSeconds = (performance.now() - generating) / 1000;
  const size = (await stat(file)).size;
  options.log(`  generated ${round(size / 1024 / 1024, 0)} MB, ${generated.samples} samples in ${round(generateSeconds, 1)} s`);
  const logger = pino({ level: 'silent' });
  const db = createPostgresDatabase({ url: databaseUrl, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'bench-apple-health' }, logger);
  try {
    await migrate(db, logger);
    const config = loadConfig({ ENV_FILE: '', DATABASE_URL: databaseUrl });
    const user = (await db.query<{ id: string }>(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [`apple-${Date.now()}@bench`])).rows[0]!.id;
    const ingestion = await ingestionsRepository(db).archive({ userId: user, source: 'cli', headers: {}, id: null, sizeBytes: size, sha256: null, status: 'processing', format: 'apple_health' });
    const ingestions = ingestionsRepository(db);
    const metrics = createMetrics({ queue: () => ingestions.queueState(), activeUsers: () => ingestions.activeUsers(24), pool: () => db.poolState() });
    global.gc?.();
    const rssStartMb = process.memoryUsage().rss / 1024 / 1024;
    let rssPeakMb = rssStartMb;
    const watch = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, process.memoryUsage().rss / 1024 / 1024)), 100);
    const started = performance.now();
    let lastLog = started;
    try {
      const outcome = await processBody(
        { db, config, postgis: false, logger, metrics, now: () => new Date() },
        { userId: user, ingestionId: ingestion.id, format: 'apple_health' },
        fileSource(file, size),
        ({ bytesDone, samplesDone }) => {
          if (performance.now() - lastLog < 10_000) return;
          lastLog = performance.now();
          options.log(`  ${round(bytesDone / 1024 / 1024, 0)}/${round(size / 1024 / 1024, 0)} MB, ${samplesDone} records, RSS ${round(process.memoryUsage().rss / 1024 / 1024, 0)} MB`);
        },
      );
      const seconds = (performance.now() - started) / 1000;
      if (outcome.counts.received !== generated.samples) {
        throw new Error(`the import received ${outcome.counts.received} samples; the generator wrote ${generated.samples}`);
      }
      return {
        exportMb: round(size / 1024 / 1024, 0),
        samples: generated.samples,
        seconds: round(seconds, 1),
        recordsPerSecond: Math.round(generated.samples / seconds),
        rssStartMb: round(rssStartMb, 0),
        rssPeakMb: round(rssPeakMb, 0),
        rssGrowthMb: round(rssPeakMb - rssStartMb, 0),
        generateSeconds: round(generateSeconds, 1),
      };
    } finally {
      clearInterval(watch);
    }
  } finally {
    await db.close();
    await rm(file, { force: true });
  }
}
