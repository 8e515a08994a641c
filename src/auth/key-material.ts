/**
 * What an API key is made of. Generated keys are 32 random bytes with a
 * recognisable prefix; UUID keys (the old service's format) match in any case.
 * Only an argon2id hash and a keyed lookup value are ever stored.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';

export const KEY_PREFIX = 'hea_';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** UUID keys are case-insensitive: every comparison sees them lower-cased. */
export function normaliseKey(key: string): string {
  return isUuid(key) ? key.toLowerCase() : key;
}

/** Why a presented key cannot even be looked up, or null when it is well-formed. */
export function malformedReason(key: string): string | null {
  if (key.length === 0) return 'API key is empty';
  if (key.length > 256) return 'API key is longer than 256 characters';
  if (/\s/.test(key)) return 'API key contains whitespace';
  return null;
}

/** Non-secret index value: HMAC-SHA-256 under the server pepper. */
export function lookupValue(pepper: string, key: string): string {
  return createHmac('sha256', pepper).update(normaliseKey(key)).digest('hex');
}

/**
 * A cache entry in Redis, signed under the pepper: whoever can write to Redis
 * but does not know the pepper cannot make an entry this server trusts.
 */
export function signCacheEntry(pepper: string, id: string, payload: string): string {
  return `${cacheSignature(pepper, id, payload)}.${payload}`;
}

/** The payload of an entry this server signed for `id`, or null for anything else. */
export function openCacheEntry(pepper: string, id: string, entry: string): string | null {
  const dot = entry.indexOf('.');
  if (dot < 0) return null;
  const payload = entry.slice(dot + 1);
  const given = Buffer.from(entry.slice(0, dot), 'hex');
  const expected = Buffer.from(cacheSignature(pepper, id, payload), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? payload : null;
}

function cacheSignature(pepper: string, id: string, payload: string): string {
  // A key of its own, derived from the pepper, so a signature is never also a lookup value.
  const key = createHmac('sha256', pepper).update('api key cache entry').digest();
  return createHmac('sha256', key).update(`${id}\n${payload}`).digest('hex');
}

export function hashKey(key: string, params: Argon2Params): Promise<string> {
  return argon2.hash(normaliseKey(key), { type: argon2.argon2id, ...params });
}

export function verifyKey(hash: string, key: string): Promise<boolean> {
  return argon2.verify(hash, normaliseKey(key));
}

export function newPepper(): string {
  return randomBytes(32).toString('base64url');
}
