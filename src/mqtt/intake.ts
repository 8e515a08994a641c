/**
 * One MQTT message, up to its durable archive write (the subscriber acknowledges
 * it after that). The + level of the topic names an API key by its public id; a
 * message for an active key with the ingest scope is queued for that key's user
 * like an HTTP upload. Anything else is archived too, as failed, so nothing
 * received disappears: for no usable key under the built-in unclaimed user (only
 * admins see it), too large without its body. Invalid JSON is the pipeline's to
 * find, as over HTTP: it fails there, for the key's user.
 */
import type { Logger } from 'pino';
import { hasScope, type KeyService, type Principal } from '../auth/key-service.js';
import type { Config } from '../config/config.js';
import type { IngestService, Upload } from '../ingest/service.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import type { IngestionRow } from '../storage/repositories/ingestions.js';
import { UNCLAIMED_USER, usersRepository } from '../storage/repositories/users.js';

export interface MqttMessage {
  topic: string;
  payload: Buffer;
}

/** What became of a message; a metrics counter belongs on this (see onOutcome). */
export type MqttOutcome = 'queued' | 'duplicate' | 'unclaimed' | 'too_large';

export function createMqttIntake(deps: {
  db: Database;
  keys: KeyService;
  ingest: IngestService;
  config: Pick<Config['mqtt'], 'topic' | 'maxMessageBytes'>;
  logger: Logger;
  onOutcome?: (outcome: MqttOutcome, ingestion: IngestionRow) => void;
}) {
  const { keys, ingest, config, logger } = deps;
  const users = usersRepository(deps.db);
  const filter = config.topic.split('/');
  const keyLevel = filter.indexOf('+');

  /** The key the topic names, or why the message belongs to no one. */
  async function owner(topic: string): Promise<Principal | AppError> {
    const levels = topic.split('/');
    if (levels.length !== filter.length || levels.some((level, i) => i !== keyLevel && level !== filter[i])) {
      return new AppError('UNAUTHORIZED', `topic does not match MQTT_TOPIC (${config.topic})`);
    }
    try {
      const principal = await keys.authenticateById(levels[keyLevel]!);
      return hasScope(principal, 'ingest') ? principal : new AppError('FORBIDDEN', 'the key this topic names lacks the ingest scope');
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
  }

  function tooLarge(): AppError {
    return new AppError('PAYLOAD_TOO_LARGE', `message is larger than the limit of ${config.maxMessageBytes / 1024 / 1024} MB (MQTT_MAX_MESSAGE_MB)`);
  }

  return {
    /** Archives the message (and queues it when it has an owner); throws only when the write failed. */
    async handle(message: MqttMessage): Promise<IngestionRow> {
      const found = await owner(message.topic);
      const refusal = found instanceof AppError ? found : null;
      const principal = found instanceof AppError ? null : found;
      if (!principal) await users.ensureUnclaimed();
      const upload: Upload = {
        userId: principal?.userId ?? UNCLAIMED_USER.id,
        keyId: principal?.keyId ?? null,
        source: 'mqtt',
        topic: message.topic,
        headers: {},
      };

      let outcome: MqttOutcome;
      let ingestion: IngestionRow;
      const size = message.payload.length;
      if (size > config.maxMessageBytes) {
        // Not even compressed for the archive: the limit is there to bound that work.
        ingestion = await ingest.recordRefused(upload, refusal ?? tooLarge(), size);
        outcome = refusal ? 'unclaimed' : 'too_large';
      } else if (refusal) {
        ingestion = await ingest.recordRefused(upload, refusal, await ingest.receiveBytes(upload.userId, message.payload));
        outcome = 'unclaimed';
      } else {
        const queued = await ingest.queue(upload, await ingest.receiveBytes(upload.userId, message.payload));
        ingestion = queued.ingestion;
        outcome = queued.duplicateOf ? 'duplicate' : 'queued';
      }
      logger.info({ ingestion: ingestion.id, outcome, size, ...(refusal ? { reason: refusal.code } : {}) }, 'mqtt message archived');
      deps.onOutcome?.(outcome, ingestion);
      return ingestion;
    },
  };
}

export type MqttIntake = ReturnType<typeof createMqttIntake>;
