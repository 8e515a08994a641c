/**
 * Who is limited, and how the answer looks. A request with a valid key counts
 * against that key (RATE_LIMIT_REQUESTS_PER_HOUR per window); a request without
 * one (failed authentication, an unknown URL: an attacker could enumerate URLs
 * if 404s were free) counts against its client address
 * (RATE_LIMIT_IP_REQUESTS_PER_HOUR). An address that has used up its budget is
 * refused whatever its key, and before argon2 verifies one: otherwise a guesser
 * would still learn which keys are valid from 200-versus-429. Routes that authenticate
 * call these from `requireScope`; routes that do not (health, readiness, metrics,
 * the API documents) are never limited.
 */
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../../shared/errors.js';

export interface RateLimitStatus {
  limit: number;
  remaining: number;
  reset_at: string;
  window_seconds: number;
}

export interface RateLimits {
  /** Refuses an address that has no failures left, counting nothing. */
  beforeAuthentication(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts a request without a valid key against its address. */
  countAddress(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts a request against its verified key (`request.principal`). */
  countKey(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * beforeAuthentication and countKey at once, for a key verified without argon2
   * (nothing to protect by checking the address first): both go to the store
   * together, one round trip to Redis instead of two. The key is counted even
   * when the address is refused.
   */
  checkAddressAndCountKey(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** A key's limit and usage, counting nothing. */
  status(keyId: string): Promise<RateLimitStatus>;
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: RateLimits;
  }
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type LimiterResult = Awaited<ReturnType<Limiter>>;

export default fp(
  async function rateLimits(app: FastifyInstance) {
    const { perKey, perAddress, windowMs } = app.config.edge.rateLimit;
    const store = app.services.rateLimits;
    const windowSeconds = windowMs / 1000;
    const keyBucket = (keyId: string) => `key:${keyId}`;
    const byKey = app.createRateLimit({ keyGenerator: (request) => keyBucket(request.principal!.keyId), max: perKey, timeWindow: windowMs });
    const byAddress = app.createRateLimit({ keyGenerator: (request) => `ip:${normalizeIP(request.ip)}`, max: perAddress, timeWindow: windowMs });

    /** Sets the headers every limited response carries; refuses when `refused`. */
    function answer(result: LimiterResult, reply: FastifyReply, refused: boolean, scope: 'key' | 'ip', whose: string): void {
      if (result.isAllowed) return;
      void reply.headers({
        'X-RateLimit-Limit': result.max,
        'X-RateLimit-Remaining': refused ? 0 : result.remaining,
        'X-RateLimit-Reset': result.ttlInSeconds,
      });
      if (!refused) return;
      app.services.metrics.rateLimited(scope);
      const retry = Math.max(1, result.ttlInSeconds);
      throw new AppError('RATE_LIMITED', `${whose} (${result.max} per ${windowSeconds} s); retry in ${retry} s`, {
        'Retry-After': String(retry),
      });
    }

    const addressLimit = 'too many requests without a valid API key from this address';

    /** Refuses an address that has no failures left. */
    const refuseSpentAddress = (result: LimiterResult, reply: FastifyReply) => {
      if (!result.isAllowed && result.remaining === 0) answer(result, reply, true, 'ip', addressLimit);
    };
    const answerKey = (result: LimiterResult, reply: FastifyReply) =>
      answer(result, reply, !result.isAllowed && result.isExceeded, 'key', 'rate limit reached for this API key');

    const limits: RateLimits = {
      async beforeAuthentication(request, reply) {
        refuseSpentAddress(await byAddress(request, { increment: false }), reply);
      },
      async countAddress(request, reply) {
        const result = await byAddress(request);
        answer(result, reply, !result.isAllowed && result.isExceeded, 'ip', addressLimit);
      },
      async countKey(request, reply) {
        answerKey(await byKey(request), reply);
      },
      async checkAddressAndCountKey(request, reply) {
        const address = byAddress(request, { increment: false });
        const key = byKey(request);
        // Settled below, unless the address is refused first.
        key.catch(() => undefined);
        refuseSpentAddress(await address, reply);
        answerKey(await key, reply);
      },
      async status(keyId) {
        const state = await store.peek(keyBucket(keyId), perKey, windowMs);
        return {
          limit: perKey,
          remaining: Math.max(0, perKey - state.count),
          reset_at: new Date(store.now() + state.resetMs).toISOString(),
          window_seconds: windowSeconds,
        };
      },
    };
    app.decorate('rateLimits', limits);

    app.addHook('onRequest', async (request, reply) => {
      if (request.is404) await limits.countAddress(request, reply);
    });
  },
  { name: 'rate-limits', dependencies: ['rate-limit'] },
);
