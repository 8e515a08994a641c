/**
 * The order in which a running server lets go, in one place: stop accepting
 * HTTP (in-flight requests finish), stop taking MQTT messages (the one being
 * archived finishes; the session stays at the broker), stop taking new work and
 * let the current batch finish, then close Redis and the database, then release
 * the data folder.
 * Each step runs even if an earlier one failed.
 */
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
