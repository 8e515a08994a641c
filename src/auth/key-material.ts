/**
 * What an API key is made of. Generated keys are 32 random bytes with a
 * recognisable prefix; UUID keys (the old service's format) match in any case.
 * Only an argon2id hash and a keyed lookup value are ever stored.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
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

/** Cache key for a verified key: never the key itself. */
export function cacheId(key: string): string {
  return createHash('sha256').update(normaliseKey(key)).digest('hex');
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
