import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { backoffMs } from '../../src/mqtt/subscriber.js';

describe('MQTT configuration', () => {
  it('is off by default, with a client id that stays the same on this host', () => {
    const { mqtt } = loadConfig({});
    expect(mqtt.url).toBeUndefined();
    expect(mqtt).toMatchObject({ clientId: `health-export-${hostname()}`, topic: 'health-export/+', maxMessageBytes: 100 * 1024 * 1024 });
    expect(loadConfig({ MQTT_CLIENT_ID: 'nas-1' }).mqtt.clientId).toBe('nas-1');
  });

  it('refuses a topic filter without exactly one + level for the key id, and a broker URL of another scheme', () => {
    for (const topic of ['health-export/#', 'health-export', 'a/+/+', '$share/g/health-export/+', 'health-export/key+']) {
      expect(() => loadConfig({ MQTT_TOPIC: topic }), topic).toThrow(/MQTT_TOPIC=.*exactly one \+ level/);
    }
    expect(loadConfig({ MQTT_TOPIC: 'home/+/health' }).mqtt.topic).toBe('home/+/health');
    expect(() => loadConfig({ MQTT_URL: 'http://broker:1883' })).toThrow(/MQTT_URL=.*mqtt:/);
  });

  it('waits longer after each failed reconnection, up to 30 seconds', () => {
    expect(backoffMs(0)).toBeLessThanOrEqual(500);
    expect(backoffMs(3)).toBeGreaterThanOrEqual(2000);
    expect(backoffMs(50)).toBeLessThanOrEqual(30_000);
    expect(backoffMs(50)).toBeGreaterThanOrEqual(15_000);
  });
});
