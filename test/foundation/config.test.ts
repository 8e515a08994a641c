import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReferenceMarkdown, envExample } from '../../src/cli/commands.js';
import { ConfigError, loadConfig, readEnvironment } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/schema.js';
import { ROOT } from '../helpers/process.js';

describe('configuration', () => {
  it('gives every default from an empty environment, frozen', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({ host: '0.0.0.0', port: 3000 });
    expect(config.database.url).toBeUndefined();
    expect(config.ingest.maxPayloadBytes).toBe(100 * 1024 * 1024);
    expect(config.ingest.limits.heartRate).toEqual({ min: 15, max: 300 });
    expect(Object.isFrozen(config.ingest.limits.heartRate)).toBe(true);
  });

  it('gives the user budget five times the key budget unless set, and reads TRUST_PROXY as false, true, a hop count or addresses', () => {
    expect(loadConfig({ RATE_LIMIT_REQUESTS_PER_HOUR: '7' }).edge.rateLimit.perUser).toBe(35);
    expect(loadConfig({ RATE_LIMIT_REQUESTS_PER_HOUR: '7', RATE_LIMIT_USER_REQUESTS_PER_HOUR: '9' }).edge.rateLimit.perUser).toBe(9);
    expect(['false', 'true', '1', '127.0.0.1,10.0.0.0/8'].map((value) => loadConfig({ TRUST_PROXY: value }).edge.trustProxy)).toEqual([false, true, 1, '127.0.0.1,10.0.0.0/8']);
    expect(() => loadConfig({ TRUST_PROXY: '0' })).toThrow(/TRUST_PROXY="0": must be false, true, a number of proxy hops/);
  });

    it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ' }).http.port).toBe(3000);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: '70000', LOG_LEVEL: 'loud', REDIS_URL: 'http://x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT=/m);
    expect(problems).toMatch(/^LOG_LEVEL=/m);
    expect(problems).toMatch(/^REDIS_URL=.*redis:/m);
  });

  it('names variables that look like misspelt settings (they used to be ignored without a word), and no others', () => {
    const config = loadConfig({
      DATABSE_URL: 'postgres://db/health',
      RATE_LIMIT_REQUESTS_PER_MINUTE: '5',
      LOG_LEVL: 'debug',
      LOG_LEVEL: 'info',
      HOME: '/root',
      HOSTNAME: 'web-1',
      NODE_OPTIONS: '--max-old-space-size=700',
      PATH: '/usr/bin',
    });
    expect(config.ignoredVariables).toEqual([
      'DATABSE_URL (closest setting: DATABASE_URL)',
      'LOG_LEVL (closest setting: LOG_LEVEL)',
      'RATE_LIMIT_REQUESTS_PER_MINUTE (closest setting: RATE_LIMIT_REQUESTS_PER_HOUR)',
    ]);
    expect(config.database.url).toBeUndefined();
  });

  it('refuses thresholds wider than the schema CHECK limits, or inverted', () => {
    expect(() => loadConfig({ VALIDATION_HEART_RATE_MIN: '0' })).toThrow(/VALIDATION_HEART_RATE_MIN/);
    expect(() => loadConfig({ VALIDATION_BP_SYSTOLIC_MAX: '401' })).toThrow(/VALIDATION_BP_SYSTOLIC_MAX/);
    expect(() => loadConfig({ VALIDATION_HEART_RATE_MIN: '200', VALIDATION_HEART_RATE_MAX: '100' })).toThrow(/must not exceed/);
    expect(loadConfig({ VALIDATION_HEART_RATE_MIN: '30' }).ingest.limits.heartRate.min).toBe(30);
  });

  it('reads no .env when ENV_FILE is empty (a developer\'s ADMIN_API_KEY in .env used to change the process tests)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hea-env-file-'));
    try {
      writeFileSync(path.join(dir, '.env'), 'ADMIN_API_KEY=from-the-dotenv-file-0123\n');
      writeFileSync(path.join(dir, 'other.env'), 'PORT=4321\n');
      expect(readEnvironment({}, dir).ADMIN_API_KEY).toBe('from-the-dotenv-file-0123');
      expect(readEnvironment({ ENV_FILE: '' }, dir).ADMIN_API_KEY).toBeUndefined();
      const other = readEnvironment({ ENV_FILE: 'other.env', PORT: '5000' }, dir);
      expect(other).toMatchObject({ ENV_FILE: 'other.env', PORT: '5000' });
      expect(other.ADMIN_API_KEY).toBeUndefined();
      expect(() => readEnvironment({ ENV_FILE: 'missing.env' }, dir)).toThrow(/ENV_FILE="missing.env": cannot read it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes pretty logs by default only on a terminal and outside production (they used to be JSON lines everywhere)', () => {
    expect(loadConfig({}, true).log.pretty).toBe(true);
    expect(loadConfig({}, false).log.pretty).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production' }, true).log.pretty).toBe(false);
    expect(loadConfig({ LOG_PRETTY: 'false' }, true).log.pretty).toBe(false);
    expect(loadConfig({ LOG_PRETTY: 'true' }, false).log.pretty).toBe(true);
    expect(() => loadConfig({ LOG_PRETTY: 'true', NODE_ENV: 'production' })).toThrow(/LOG_PRETTY/);
  });

  it('reads MAP_TILE_URL as OpenStreetMap by default, none when set but empty or off, and refuses a template without {z}/{x}/{y}', () => {
    expect(loadConfig({}).dashboard.tileUrl).toBe('https://tile.openstreetmap.org/{z}/{x}/{y}.png');
    // Empty is a value here (no tiles), not "unset" as for every other setting.
    expect(loadConfig({ MAP_TILE_URL: '' }).dashboard.tileUrl).toBeNull();
    expect(loadConfig({ MAP_TILE_URL: 'off' }).dashboard.tileUrl).toBeNull();
    expect(loadConfig({ MAP_TILE_URL: 'http://tiles.lan:8080/{z}/{x}/{y}.png' }).dashboard.tileUrl).toBe('http://tiles.lan:8080/{z}/{x}/{y}.png');
    for (const bad of ['https://tile.openstreetmap.org/{z}/{x}.png', 'ftp://tiles.lan/{z}/{x}/{y}.png', 'tiles/{z}/{x}/{y}.png']) {
      expect(() => loadConfig({ MAP_TILE_URL: bad }), bad).toThrow(/MAP_TILE_URL=.*must be an http\(s\) URL template holding \{z\}, \{x\} and \{y\}/);
    }
  });

  it('documents every variable in .env.example, generated from the settings so it cannot drift', () => {
    const committed = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    expect(committed).toBe(envExample());
    for (const name of Object.keys(SETTINGS)) expect(committed).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});

describe('the configuration reference in docs/operations.md', () => {
  it('is the table generated from the settings', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
    const section = /<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/.exec(doc)?.[1];
    expect(section).toBe(configReferenceMarkdown());
  });
});
