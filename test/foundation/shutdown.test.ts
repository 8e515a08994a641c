import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { runShutdown, shutdownSteps } from '../../src/shutdown.js';

describe('shutdown order', () => {
  it('stops HTTP, then MQTT, then intake, then Redis, then the database, then the lock, even when a step fails', async () => {
    const done: string[] = [];
    const step = (name: string, fail = false) => async () => {
      done.push(name);
      if (fail) throw new Error(`${name} failed`);
    };
    const steps = shutdownSteps({
      closeHttp: step('http'),
      stopMqtt: step('mqtt'),
      stopIntake: step('intake', true),
      closeRedis: step('redis'),
      closeDatabase: step('database'),
      releaseLock: step('lock'),
    });
    expect(steps.map((s) => s.name)).toEqual(['http', 'mqtt', 'intake', 'redis', 'database', 'lock']);
    const clean = await runShutdown(steps, pino({ level: 'silent' }));
    expect(done).toEqual(['http', 'mqtt', 'intake', 'redis', 'database', 'lock']);
    expect(clean).toBe(false);
  });
});
