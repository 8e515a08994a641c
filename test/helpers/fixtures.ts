import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The app's payloads the tests rely on, kept in the repository (see test/fixtures/hae/README.md). */
export const FIXTURES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hae');

export function fixturePath(name: string): string {
  return path.join(FIXTURES_DIR, name);
}

export function readFixture(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

export function fixtureJson<T = any>(name: string): T {
  return JSON.parse(readFixture(name).toString('utf8')) as T;
}
