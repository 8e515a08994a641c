/**
 * The order in which a running server lets go, in one place: stop accepting
 * HTTP (in-flight requests finish), stop taking MQTT messages (the one being
 * archived finishes; the session stays at the broker), stop taking new work and
 * let the current batch finish, then close Redis and the database, then release
 * the data folder.
 * Each step runs even if an earlier one failed. `stopOnSignals` decides when
 * that sequence starts, and when a stop is forced instead.
 */
import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

export function shutdownSteps(parts: {
  closeHttp: () => Promise<unknown>;
  stopMqtt?: () => Promise<unknown>;
  stopIntake: () => Promise<unknown>;
  closeRedis?: () => Promise<unknown>;
  closeDatabase: () => Promise<unknown>;
  releaseLock?: () => Promise<unknown>;
}): ShutdownStep[] {
  return [
    { name: 'http', run: parts.closeHttp },
    ...(parts.stopMqtt ? [{ name: 'mqtt', run: parts.stopMqtt }] : []),
    { name: 'intake', run: parts.stopIntake },
    ...(parts.closeRedis ? [{ name: 'redis', run: parts.closeRedis }] : []),
    { name: 'database', run: parts.closeDatabase },
    ...(parts.releaseLock ? [{ name: 'lock', run: parts.releaseLock }] : []),
  ];
}

export async function runShutdown(steps: ShutdownStep[], logger: Logger): Promise<boolean> {
  let clean = true;
  for (const step of steps) {
    try {
      await step.run();
      logger.debug({ step: step.name }, 'shutdown step done');
    } catch (error) {
      clean = false;
      logger.error({ err: error, step: step.name }, 'shutdown step failed');
    }
  }
  return clean;
}

/**
 * Within this long of the first stop signal, another is the same stop. A
 * terminal's Ctrl-C reaches every process of `npm start`'s group and npm
 * forwards it as well, so the server gets two SIGINTs milliseconds apart;
 * taking the second as "force" dropped the uploads in flight.
 */
export const REPEATED_SIGNAL_MS = 1000;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * SIGINT or SIGTERM runs `shutdown` once; the process exits 0 when it is done,
 * 1 after `timeoutMs` or an uncaught error (close-with-grace handles those).
 * A stop signal more than REPEATED_SIGNAL_MS after the first forces the exit at
 * once, for an operator who will not wait for the work in flight.
 */
export function stopOnSignals(options: { timeoutMs: number; logger: Logger }, shutdown: () => Promise<unknown>): void {
  const { logger } = options;
  let stopping = false;
  const grace = closeWithGrace({ delay: options.timeoutMs, logger, skip: [...STOP_SIGNALS] }, async ({ err }) => {
    stopping = true;
    if (err) logger.error({ err }, 'shutting down after an uncaught error');
    await shutdown();
  });
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt === undefined && !stopping) {
      firstAt = Date.now();
      logger.info({ signal }, 'shutting down: requests in flight finish first');
      grace.close();
    } else if (firstAt !== undefined && Date.now() - firstAt <= REPEATED_SIGNAL_MS) {
      logger.debug({ signal }, 'the same stop (one Ctrl-C reaches the server twice under npm)');
    } else {
      logger.error({ signal }, `${signal} again: exiting now, without waiting for requests in flight`);
      process.exit(1);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
}
