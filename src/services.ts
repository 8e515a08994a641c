/**
 * The domain services over one database (and Redis), created in one place for
 * the HTTP app and the CLI alike.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createKeyService, type KeyService } from './auth/key-service.js';
import { loadPepper } from './auth/pepper.js';
import type { Config } from './config/config.js';
import { createIngestService, type IngestService } from './ingest/service.js';
import { createMetrics, type Metrics } from './monitoring/metrics.js';
import { createReadiness } from './monitoring/readiness.js';
import { createMqttIntake } from './mqtt/intake.js';
import { createMqttSubscriber, type MqttSubscriber } from './mqtt/subscriber.js';
import type { Database } from './storage/database.js';
import { createErasureService, type ErasureService } from './storage/erasure.js';
import { createRateLimitStore, type RateLimitStore } from './storage/rate-limit/index.js';
import { createRedisGuard } from './storage/redis-guard.js';
import { ingestionsRepository } from './storage/repositories/ingestions.js';

export interface ServiceDeps {
  db: Database;
  logger: Logger;
  redis?: Redis | null;
  /** Whether PostGIS objects exist (the result of the migration step). */
  postgis: boolean;
  now?: () => Date;
}

export interface Services {
  db: Database;
  keys: KeyService;
  ingest: IngestService;
  /** Deleting samples, archived bodies and whole users, each audited. */
  erasure: ErasureService;
  readiness: ReturnType<typeof createReadiness>;
  /** The sliding-window store behind every rate limit (Redis, or memory while Redis is away). */
  rateLimits: RateLimitStore;
  /** This instance's Prometheus registry and the API that records every metric. */
  metrics: Metrics;
  /** The root logger: its level is the process's (children follow it). */
  logger: Logger;
  /** Whether PostGIS objects exist: bbox searches then refine with ST_Intersects. */
  postgis: boolean;
  /** Set when MQTT_URL is; the server starts it after listening (creating it connects nothing). */
  mqtt: MqttSubscriber | null;
}

export async function createServices(config: Config, deps: ServiceDeps): Promise<Services> {
  const redis = deps.redis ?? null;
  const ingestions = ingestionsRepository(deps.db);
  const metrics = createMetrics({
    queue: () => ingestions.queueState(),
    activeUsers: () => ingestions.activeUsers(24),
    pool: () => deps.db.poolState(),
  });
  // One guard for every use of Redis: the first timeout sends the key cache and the rate limits to memory together.
  const guard = redis ? createRedisGuard({ redis, logger: deps.logger, onDegraded: (degraded) => metrics.setRateLimitDegraded(degraded) }) : null;
  // One clock for every service: key expiry, rate-limit windows and ingestion times move together in tests.
  const nowMs = () => (deps.now ? deps.now().getTime() : Date.now());
  const keys = createKeyService({
    now: nowMs,
    db: deps.db,
    config: config.auth,
    pepper: await loadPepper(deps.db, config, deps.logger),
    redis: guard,
    logger: deps.logger,
    metrics,
  });
  const services: Services = {
    db: deps.db,
    keys,
    ingest: createIngestService({ db: deps.db, config, postgis: deps.postgis, logger: deps.logger, metrics, now: deps.now }),
    erasure: createErasureService({ db: deps.db, keys }),
    readiness: createReadiness({ db: deps.db, redis, logger: deps.logger, mqttState: () => services.mqtt?.state() ?? 'off' }),
    rateLimits: createRateLimitStore({
      guard,
      prefix: config.edge.rateLimit.redisPrefix,
      now: nowMs,
    }),
    metrics,
    logger: deps.logger,
    postgis: deps.postgis,
    mqtt: null,
  };
  if (config.mqtt.url) {
    const intake = createMqttIntake({ ...services, config: config.mqtt, onOutcome: (outcome) => metrics.mqttMessage(outcome) });
    services.mqtt = createMqttSubscriber({
      config: { ...config.mqtt, url: config.mqtt.url },
      logger: deps.logger,
      handle: intake.handle,
      onArchiveError: () => metrics.error('mqtt'),
    });
  }
  return services;
}
