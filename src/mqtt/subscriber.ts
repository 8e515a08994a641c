/**
 * The connection to the broker. A persistent session (stable client id, clean
 * start off, MQTT 5 session expiry) holding a shared subscription at QoS 1, so
 * messages published at QoS 1 while this server is away wait at the broker, and
 * several instances split the work, each message going to one of them.
 *
 * A message is acknowledged only after it is archived: mqtt.js sends the PUBACK
 * when `handleMessage` calls back, and reads the next packet only then, so
 * messages are archived one at a time. A failed write is retried, never
 * acknowledged; a message still unarchived at shutdown stays unacknowledged and
 * the broker delivers it again to the next session. Shutdown disconnects without
 * unsubscribing, which would throw away what the broker keeps for us.
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { CheckState } from '../monitoring/readiness.js';
import type { MqttMessage } from './intake.js';

/** The shared-subscription group every instance joins: the broker gives each message to one member. */
export const SHARE_GROUP = 'health-export';
const BACKOFF = { initialMs: 500, maxMs: 30_000 };
const END_TIMEOUT_MS = 5000;

export type MqttSettings = Config['mqtt'] & { url: string };

/** Doubling delay with jitter, so instances that lost the broker together do not return together. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function createMqttSubscriber(deps: {
  config: MqttSettings;
  logger: Logger;
  handle: (message: MqttMessage) => Promise<unknown>;
  /** Each failed archive write (it is retried). */
  onArchiveError?: () => void;
}) {
  const { config, handle } = deps;
  const logger = deps.logger.child({ broker: new URL(config.url).host, clientId: config.clientId });
  const subscription = `$share/${SHARE_GROUP}/${config.topic}`;
  let client: MqttClient | null = null;
  let stopping = false;
  let subscribed = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  /** Ends a retry pause early when shutdown begins. */
  let interrupt: (() => void) | null = null;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  /** Archives the message, retrying a failed write until it succeeds or shutdown begins; true when stored. */
  async function archive(message: MqttMessage): Promise<boolean> {
    for (let failures = 0; !stopping; failures += 1) {
      try {
        await handle(message);
        return true;
      } catch (error) {
        deps.onArchiveError?.();
        logger.error({ err: error, failures: failures + 1 }, 'could not archive an MQTT message; retrying before acknowledging it');
        await pause(backoffMs(failures));
      }
    }
    return false;
  }

  // Called for QoS 0 and 1 (we subscribe at 1, so nothing arrives at 2) before the PUBACK.
  // packet.topic is always complete: no topic alias maximum is advertised, so the broker sends none.
  function handleMessage(packet: IPublishPacket, done: (error?: Error) => void): void {
    if (stopping) {
      done(new Error('shutting down: left unacknowledged for the next session'));
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const work = archive({ topic: packet.topic, payload }).then((stored) =>
      stored ? done() : done(new Error('shutting down before the message was archived: left unacknowledged')),
    );
    current = work;
  }

  function subscribe(target: MqttClient): void {
    // Also when the broker kept our session: MQTT_TOPIC may have changed, and an identical
    // subscription only replaces itself (queued messages stay queued).
    target.subscribe(subscription, { qos: 1 }, (error, granted) => {
      const refused = granted?.find((grant) => grant.qos >= 128);
      if (error || refused) {
        logger.error({ err: error, reasonCode: refused?.qos }, 'the broker refused the subscription; check its ACL for this user and MQTT_TOPIC');
        return;
      }
      subscribed = true;
      logger.info({ topic: subscription }, 'subscribed');
    });
  }

  function scheduleReconnect(): void {
    if (stopping || reconnectTimer) return;
    const delay = backoffMs(attempt);
    attempt += 1;
    logger.warn({ retryInMs: Math.round(delay) }, 'not connected to the MQTT broker');
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (!stopping) client?.reconnect();
    }, delay);
  }

  function options(): IClientOptions {
    return {
      manualConnect: true,
      clientId: config.clientId,
      ...(config.username ? { username: config.username } : {}),
      ...(config.password ? { password: config.password } : {}),
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: config.sessionExpirySeconds },
      // Reconnection is ours (with backoff; mqtt.js only knows a fixed period), and so is subscribing.
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: 10_000,
    };
  }

  return {
    start(): void {
      stopping = false;
      attempt = 0;
      const target = connect(config.url, options());
      client = target;
      target.handleMessage = handleMessage;
      target.on('connect', (connack) => {
        attempt = 0;
        logger.info({ sessionPresent: connack.sessionPresent }, 'connected to the MQTT broker');
        if (!connack.sessionPresent) {
          logger.warn(
            'the broker had no session for this client id: anything published while this server was away is not coming. ' +
              'If this instance used another client id before (a new hostname?), end that session (docs/mqtt.md): ' +
              'until it expires, the broker keeps handing it a share of the messages',
          );
        }
        subscribe(target);
      });
      target.on('close', () => {
        subscribed = false;
        scheduleReconnect();
      });
      target.on('error', (error) => logger.warn({ err: error }, 'MQTT connection error'));
      target.connect();
    },

    /** Stops taking messages, lets the current one finish archiving, and disconnects keeping the session. */
    async stop(): Promise<void> {
      stopping = true;
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      interrupt?.();
      await current;
      const target = client;
      client = null;
      if (!target) return;
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        target.endAsync(false).then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), END_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      // A broker that stopped answering: drop the socket. The session survives either way.
      if (!ended) target.stream?.destroy();
    },

    /** For /ready: connected and subscribed. */
    state(): CheckState {
      return client?.connected && subscribed ? 'ok' : 'down';
    },
  };
}

export type MqttSubscriber = ReturnType<typeof createMqttSubscriber>;
