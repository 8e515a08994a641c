/**
 * Starts everything a running server needs, in order: database (and its lock),
 * migrations, partitions ahead of time, Redis, the app, the bootstrap key, HTTP,
 * the ingestion workers and the MQTT subscriber. Returns the one shutdown
 * sequence for all of it.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config/config.js';
import { startMetricsServer, type MetricsServer } from './monitoring/metrics-server.js';
import { runShutdown, shutdownSteps } from './shutdown.js';
import type { Database } from './storage/database.js';
import { migrate, pendingMigrations } from './storage/migrate.js';
import { openDatabase } from './storage/open.js';
import { ensureUpcomingPartitions } from './storage/partitions.js';
import { enablePostgis } from './storage/postgis.js';
import { createRedis } from './storage/redis.js';
import { startRollupBuild } from './storage/rollups.js';

export interface RunningServer {
  app: FastifyInstance;
  db: Database;
  url: string;
  location: string;
  /** The scrape URL, unless METRICS_PORT=off. */
  metricsUrl?: string;
  shutdown(): Promise<boolean>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  if (config.edge.trustProxy === true) {
    logger.warn(
      'TRUST_PROXY=true believes every address in X-Forwarded-For: behind a proxy that appends to it, a client chooses its own address ' +
        '(and can spend another\'s rate limits). Set the proxy\'s address or CIDR (TRUST_PROXY=127.0.0.1) or its hop count (TRUST_PROXY=1) instead',
    );
  }
  const { db, lock, location } = await openDatabase(config, logger);
  const redis = config.redisUrl ? createRedis(config.redisUrl, logger) : null;
  let app: FastifyInstance | undefined;
  let metricsServer: MetricsServer | undefined;
  let rollupBuild: ReturnType<typeof startRollupBuild> | undefined;
  const shutdown = () =>
    runShutdown(
      shutdownSteps({
        closeHttp: async () => {
          await metricsServer?.close();
          await app?.close();
        },
        ...(config.mqtt.url ? { stopMqtt: async () => app?.services.mqtt?.stop() } : {}),
        stopIntake: async () => Promise.all([app?.services.ingest.stop(), rollupBuild?.stop()]),
        ...(redis ? { closeRedis: async () => redis.quit().catch(() => redis.disconnect()) } : {}),
        closeDatabase: () => db.close(),
        ...(lock ? { releaseLock: () => lock.release() } : {}),
      }),
      logger,
    );
  try {
    let postgis: boolean;
    if (config.database.migrateOnStart) {
      postgis = (await migrate(db, logger)).postgis;
    } else {
      const pending = await pendingMigrations(db);
      if (pending.length > 0) throw new Error(`pending migrations (${pending.join(', ')}); run npm run migrate or set MIGRATE_ON_START=true`);
      postgis = await enablePostgis(db, logger);
    }
    await ensureUpcomingPartitions(db);
    app = await buildApp(config, { db, logger, redis, postgis });
    await app.services.keys.bootstrap();
    const address = await app.listen({ host: config.http.host, port: config.http.port });
    const url = address.replace('[::]', '127.0.0.1').replace('0.0.0.0', '127.0.0.1');
    if (config.metrics.port !== null) {
      metricsServer = await startMetricsServer(app.services.metrics, config.metrics.host, config.metrics.port, logger);
    }
    await lock?.announce(url);
    app.services.ingest.start();
    // After an upgrade: the users whose summary rollups are not built yet (their summaries read raw samples meanwhile).
    rollupBuild = startRollupBuild(db, logger);
    app.services.mqtt?.start();
    return { app, db, url, location, metricsUrl: metricsServer?.url, shutdown };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
