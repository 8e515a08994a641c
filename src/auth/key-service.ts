/**
 * Verifies API keys and manages them. A successful verification is cached in
 * memory (and in Redis when configured) for API_KEY_CACHE_SECONDS, keyed by the
 * key's lookup value (an HMAC under the pepper), so argon2 runs once per key per
 * period. Redis entries are signed under the pepper and only trusted with a
 * valid signature, and Redis is used through the guard, so a hung Redis costs
 * one timeout, not one per request. Revocation is immediate on the revoking
 * instance, also for a verification of that key already in flight; the Redis
 * entry is deleted too, and other instances' memory forgets it within the period.
 */
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/config.js';
import type { AuthResult, Metrics } from '../monitoring/metrics.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import type { RedisGuard } from '../storage/redis-guard.js';
import { apiKeysRepository, type ApiKeyRow, type Scope } from '../storage/repositories/api-keys.js';
import { auditRepository } from '../storage/repositories/audit.js';
import { usersRepository, type UserRow } from '../storage/repositories/users.js';
import { generateApiKey, hashKey, isUuid, lookupValue, malformedReason, openCacheEntry, signCacheEntry, verifyKey } from './key-material.js';

export interface Principal {
  keyId: string;
  userId: string;
  scopes: Scope[];
  expiresAt: string | null;
}

export interface ClientInfo {
  ip?: string | null;
  userAgent?: string | null;
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

/** The shortest ADMIN_API_KEY start-up registers as a new key: it is chosen by a person, not generated. */
const ADMIN_API_KEY_MIN_LENGTH = 32;

/** What a verified key lets its bearer do, as cached and as routes see it. */
function principalOf(row: ApiKeyRow): Principal {
  return {
    keyId: row.id,
    userId: row.user_id,
    scopes: row.scopes,
    expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
  };
}
const LAST_USED_EVERY_MS = 60_000;
/** How much longer than two cache periods a revocation is remembered: a Redis write in flight lands within it. */
const REVOKED_MARGIN_MS = 60_000;

export function createKeyService(deps: {
  db: Database;
  config: Config['auth'];
  pepper: string;
  redis: RedisGuard | null;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}) {
  const { db, config, pepper, redis, logger, metrics } = deps;
  const prefix = config.cachePrefix;
  const now = deps.now ?? Date.now;
  const keys = apiKeysRepository(db);
  const users = usersRepository(db);
  const audit = auditRepository(db);
  const memory = new Map<string, { principal: Principal; until: number }>();
  const lastTouched = new Map<string, number>();
  /**
   * Keys this instance revoked, until any cache entry written for them has run
   * out: a verification that read the key before the revocation and finishes
   * after it (argon2 takes tens of milliseconds) must not remember it.
   */
  const revokedHere = new Map<string, number>();
  let verifications = 0;

  const revokedRecently = (keyId: string) => (revokedHere.get(keyId) ?? 0) > now();

  const refuse = async (result: AuthResult, reason: string, client: ClientInfo, keyId: string | null = null, userId: string | null = null) => {
    metrics.authAttempt(result);
    await audit
      .record({ action: 'auth.failed', keyId, userId, ip: client.ip, userAgent: client.userAgent, reason })
      .catch((error: unknown) => {
        metrics.error('audit');
        logger.error({ err: error }, 'could not write the audit log');
      });
    return new AppError('UNAUTHORIZED', reason, { 'WWW-Authenticate': 'Bearer' });
  };

  const checkExpiry = (principal: Principal) =>
    principal.expiresAt !== null && Date.parse(principal.expiresAt) <= now();

  /** A verification this process remembers and that has not run out. */
  function remembered(id: string): Principal | null {
    const hit = memory.get(id);
    return hit && hit.until > now() ? hit.principal : null;
  }

  async function fromCache(id: string): Promise<Principal | null> {
    const known = remembered(id);
    if (known) return known;
    memory.delete(id);
    if (!redis || config.cacheSeconds === 0) return null;
    const stored = await redis.run((client) => client.get(prefix + id), () => null);
    const payload = stored === null ? null : openCacheEntry(pepper, id, stored);
    if (payload === null) {
      if (stored !== null) logger.warn({ entry: prefix + id }, 'ignored a key cache entry in Redis without a valid signature');
      return null;
    }
    const principal = JSON.parse(payload) as Principal;
    memory.set(id, { principal, until: now() + config.cacheSeconds * 1000 });
    return principal;
  }

  /** Drops cached verifications of these keys, here and in Redis, so they stop working at once. */
  /** Refuses these keys here from now on, whatever a verification already in flight read (see revokedHere). */
  function markGone(keyIds: string[]): void {
    for (const [id, until] of revokedHere) if (until <= now()) revokedHere.delete(id);
    for (const keyId of keyIds) revokedHere.set(keyId, now() + 2 * config.cacheSeconds * 1000 + REVOKED_MARGIN_MS);
  }

  async function forget(keyIds: string[]): Promise<void> {
    markGone(keyIds);
    const gone = new Set(keyIds);
    for (const [id, entry] of memory) if (gone.has(entry.principal.keyId)) memory.delete(id);
    await redis?.run(
      async (client) => {
        for (const keyId of keyIds) {
          const ref = await client.get(`${prefix}ref:${keyId}`);
          if (ref) await client.del(prefix + ref, `${prefix}ref:${keyId}`);
        }
      },
      () => undefined,
    );
  }

  async function remember(id: string, principal: Principal): Promise<void> {
    if (config.cacheSeconds === 0) return;
    memory.set(id, { principal, until: now() + config.cacheSeconds * 1000 });
    await redis?.run(
      async (client) =>
        void (await client
          .multi()
          .set(prefix + id, signCacheEntry(pepper, id, JSON.stringify(principal)), 'EX', config.cacheSeconds)
          .set(`${prefix}ref:${principal.keyId}`, id, 'EX', config.cacheSeconds)
          .exec()),
      () => undefined,
    );
  }

  function touch(keyId: string): void {
    const last = lastTouched.get(keyId) ?? 0;
    if (now() - last < LAST_USED_EVERY_MS) return;
    lastTouched.set(keyId, now());
    keys.touch(keyId).catch((error: unknown) => logger.warn({ err: error }, 'could not record last_used_at'));
  }

  const service = {
    /** How many times argon2 verified a key: the cache's effect, observable in tests and benchmarks. */
    get verifications() {
      return verifications;
    },

    /**
     * Whether `presented` would be verified from this process's memory: no
     * argon2 and no round trip (the rate limits then need not check the address first).
     */
    remembers(presented: string | undefined): boolean {
      if (presented === undefined || malformedReason(presented) !== null) return false;
      const known = remembered(lookupValue(pepper, presented));
      return known !== null && !revokedRecently(known.keyId);
    },

    async authenticate(presented: string | undefined, client: ClientInfo): Promise<Principal> {
      if (presented === undefined) {
        throw await refuse('missing', 'missing API key: send Authorization: Bearer <key>, X-API-Key or api-key', client);
      }
      const malformed = malformedReason(presented);
      if (malformed) throw await refuse('malformed', `malformed API key: ${malformed}`, client);

      const id = lookupValue(pepper, presented);
      const cached = await fromCache(id);
      if (cached && !revokedRecently(cached.keyId)) {
        if (checkExpiry(cached)) throw await refuse('expired', 'API key has expired', client, cached.keyId, cached.userId);
        touch(cached.keyId);
        metrics.authAttempt('ok');
        return cached;
      }

      // A miss on the lookup value is refused without running argon2.
      const row = await keys.findByLookup(id);
      const valid = row !== null && !row.revoked_at && row.user_active && (verifications++, await verifyKey(row.hash, presented));
      // The row was read before argon2 ran: a revocation here since then wins.
      if (!row || !valid || revokedRecently(row.id)) throw await refuse('invalid', 'API key is not valid (unknown or revoked)', client);
      const principal = principalOf(row);
      if (checkExpiry(principal)) throw await refuse('expired', 'API key has expired', client, row.id, row.user_id);
      await remember(id, principal);
      touch(row.id);
      metrics.authAttempt('ok');
      return principal;
    },

    /**
     * The key an MQTT topic names by its public id. The topic never carries the
     * secret: the broker's access control decides who may publish there. Refused
     * like a presented key when unknown, revoked, expired or its user is inactive.
     */
    async authenticateById(keyId: string, client: ClientInfo = {}): Promise<Principal> {
      const row = isUuid(keyId) ? await keys.findByIdWithUser(keyId.toLowerCase()) : null;
      if (!row || row.revoked_at || !row.user_active) {
        throw await refuse('invalid', 'topic names no valid API key (unknown or revoked)', client, row?.id ?? null, row?.user_id ?? null);
      }
      const principal = principalOf(row);
      if (checkExpiry(principal)) throw await refuse('expired', 'API key has expired', client, row.id, row.user_id);
      metrics.authAttempt('ok');
      touch(row.id);
      return principal;
    },

    async create(input: {
      userId: string;
      name: string;
      scopes: Scope[];
      expiresAt?: string | null;
      /** A key chosen by the caller: a registered UUID, or the bootstrap ADMIN_API_KEY. */
      secret?: string;
      actor?: Principal | null;
      client?: ClientInfo;
    }): Promise<{ key: string; row: ApiKeyRow }> {
      const key = input.secret ?? generateApiKey();
      const lookup = lookupValue(pepper, key);
      // A chosen key already registered (the lookup is unique): only admins and the CLI choose keys.
      const row = await keys.insert({
        userId: input.userId,
        name: input.name,
        lookup,
        hash: await hashKey(key, config.argon2),
        scopes: input.scopes,
        format: isUuid(key) ? 'uuid' : 'generated',
        expiresAt: input.expiresAt ?? null,
      });
      if (!row) throw new AppError('CONFLICT', 'uuid: this UUID is already registered as a key');
      await audit.record({
        action: 'key.created',
        keyId: row.id,
        userId: row.user_id,
        ip: input.client?.ip,
        userAgent: input.client?.userAgent,
        reason: input.actor ? `by key ${input.actor.keyId}` : 'by CLI or bootstrap',
      });
      return { key, row };
    },

    async revoke(keyId: string, actor: Principal | null, client: ClientInfo = {}): Promise<ApiKeyRow | null> {
      const existing = await keys.findById(keyId);
      if (!existing || (actor && !hasScope(actor, 'admin') && existing.user_id !== actor.userId)) return null;
      // Before the database: a verification that finishes while the update runs is refused too.
      markGone([keyId]);
      let row: ApiKeyRow | null;
      try {
        row = await keys.revoke(keyId);
      } catch (error) {
        if (!existing.revoked_at) revokedHere.delete(keyId);
        throw error;
      }
      await forget([keyId]);
      await audit.record({
        action: 'key.revoked',
        keyId,
        userId: existing.user_id,
        ip: client.ip,
        userAgent: client.userAgent,
        reason: actor ? `by key ${actor.keyId}` : 'by CLI',
      });
      return row;
    },

    /** For keys deleted with their user: their cached verifications go too, here at once. */
    forget,

    /**
     * Creates a user and audits it, for the admin API and the CLI alike (a user made
     * with the server stopped is in the audit log too); null when the email is taken.
     */
    async createUser(email: string, actor: Principal | null, client: ClientInfo = {}): Promise<UserRow | null> {
      const row = await users.create(email);
      if (row) {
        await audit.record({
          action: 'user.created',
          keyId: actor?.keyId ?? null,
          userId: row.id,
          ip: client.ip,
          userAgent: client.userAgent,
          reason: actor ? `by key ${actor.keyId}` : 'by CLI',
        });
      }
      return row;
    },

    /**
     * ADMIN_API_KEY becomes the first admin key, owned by ADMIN_EMAIL, when no
     * admin key exists. Several instances starting at once on a new database all
     * try: one registers it, the others find it registered.
     */
    async bootstrap(): Promise<boolean> {
      const secret = config.adminApiKey;
      if (!secret || (await keys.hasActiveAdmin())) return false;
      if (await keys.findByLookup(lookupValue(pepper, secret))) return false;
      if (secret.length < ADMIN_API_KEY_MIN_LENGTH) {
        throw new ConfigError([
          `ADMIN_API_KEY: ${secret.length} characters is too short to register as a new admin key (at least ${ADMIN_API_KEY_MIN_LENGTH}); ` +
            'create one with `openssl rand -base64 32`',
        ]);
      }
      const user = await users.ensure(config.adminEmail);
      try {
        await service.create({ userId: user.id, name: 'bootstrap (ADMIN_API_KEY)', scopes: ['admin'], secret });
      } catch (error) {
        if (error instanceof AppError && error.code === 'CONFLICT') return false;
        throw error;
      }
      logger.info({ user: user.id }, 'bootstrap admin key registered from ADMIN_API_KEY');
      return true;
    },
  };
  return service;
}

export type KeyService = ReturnType<typeof createKeyService>;
