/**
 * Who is limited, and how the answer looks. Every budget is a sliding window of
 * RATE_LIMIT_WINDOW_SECONDS in the rate-limit store (Redis, or memory):
 *
 * - a request with a valid key counts against that key
 *   (RATE_LIMIT_REQUESTS_PER_HOUR) and against its user, all keys together
 *   (RATE_LIMIT_USER_REQUESTS_PER_HOUR), so minting keys buys no budget;
 * - a presented key that fails (wrong, revoked, expired, malformed) counts against
 *   the client address (RATE_LIMIT_IP_REQUESTS_PER_HOUR). The slot is taken
 *   atomically before argon2 runs and given back when the key was valid, so at
 *   most that many guesses are ever checked per window, however many arrive at
 *   once. An address that has used up this budget is refused whatever its key,
 *   valid or not: otherwise a guesser would learn which keys are valid from
 *   200-versus-429;
 * - a request without any key (an unknown URL: an attacker could enumerate URLs
 *   if 404s were free; a missing key header) counts against a budget of its own
 *   per address (RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR), which never refuses a
 *   key: a web page full of broken links behind the phone's NAT must not lock
 *   the phone out;
 * - creating a key through the API counts against the user's
 *   KEY_CREATIONS_PER_USER_PER_HOUR (each costs an argon2 hash).
 *
 * A request refused by one window is counted in none. Routes that authenticate
 * call these from `requireScope`; routes that do not (health, readiness,
 * metrics, the API documents) are never limited.
 */
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RateLimitScope } from '../../../monitoring/metrics.js';
import { AppError } from '../../../shared/errors.js';
import type { Bucket, Slot, WindowState } from '../../../storage/rate-limit/index.js';

export interface RateLimitStatus {
  limit: number;
  remaining: number;
  reset_at: string;
  window_seconds: number;
}

export interface RateLimits {
  /**
   * Takes one of the address's failed-authentication slots before a key is
   * verified (refusing the request when none is left); a failed key keeps it.
   */
  takeGuess(request: FastifyRequest, reply: FastifyReply): Promise<Slot>;
  /** The key was valid: gives its guess back and counts it against its key and user (`request.principal`). */
  countVerifiedKey(request: FastifyRequest, reply: FastifyReply, guess: Slot): Promise<void>;
  /**
   * For a key verified without argon2 (remembered by this process): checks that
   * the address has failures left and counts the key and user, in one round trip.
   */
  countRememberedKey(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Verification failed for another reason than the key (the database was down): not a guess. */
  returnGuess(guess: Slot): Promise<void>;
  /** Counts a request without any key against its address's own budget. */
  countAnonymous(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts a key creation against the calling key's user. */
  countKeyCreation(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** A key's limit and usage, counting nothing. */
  status(keyId: string): Promise<RateLimitStatus>;
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: RateLimits;
  }
}

interface Budget {
  scope: RateLimitScope;
  limit: number;
  bucket(request: FastifyRequest): string;
  /** Says whose budget it is in the 429 message. */
  refusal: string;
}

export default fp(
  async function rateLimits(app: FastifyInstance) {
    const { perKey, perUser, failuresPerAddress, anonymousPerAddress, keyCreationsPerUser, windowMs } = app.config.edge.rateLimit;
    const store = app.services.rateLimits;
    const windowSeconds = windowMs / 1000;
    const address = (request: FastifyRequest) => normalizeIP(request.ip);
    const keyBucket = (keyId: string) => `key:${keyId}`;

    const failures: Budget = { scope: 'ip', limit: failuresPerAddress, bucket: (r) => `ip:${address(r)}`, refusal: 'too many failed authentications from this address' };
    const anonymous: Budget = { scope: 'anonymous', limit: anonymousPerAddress, bucket: (r) => `anon:${address(r)}`, refusal: 'too many requests without an API key from this address' };
    const key: Budget = { scope: 'key', limit: perKey, bucket: (r) => keyBucket(r.principal!.keyId), refusal: 'rate limit reached for this API key' };
    const user: Budget = { scope: 'user', limit: perUser, bucket: (r) => `user:${r.principal!.userId}`, refusal: "rate limit reached for this user's API keys together" };
    const creations: Budget = { scope: 'key_creation', limit: keyCreationsPerUser, bucket: (r) => `created:${r.principal!.userId}`, refusal: 'too many API keys created by this user' };

    const bucket = (budget: Budget, request: FastifyRequest, count: boolean): Bucket => ({ key: budget.bucket(request), limit: budget.limit, windowMs, count });

    const headers = (reply: FastifyReply, budget: Budget, state: WindowState, refused: boolean) =>
      void reply.headers({
        'X-RateLimit-Limit': budget.limit,
        'X-RateLimit-Remaining': refused ? 0 : Math.max(0, budget.limit - state.count),
        'X-RateLimit-Reset': Math.ceil(state.resetMs / 1000),
      });

    function refuse(reply: FastifyReply, budget: Budget, state: WindowState): never {
      headers(reply, budget, state, true);
      app.services.metrics.rateLimited(budget.scope);
      const retry = Math.max(1, Math.ceil(state.resetMs / 1000));
      throw new AppError('RATE_LIMITED', `${budget.refusal} (${budget.limit} per ${windowSeconds} s); retry in ${retry} s`, {
        'Retry-After': String(retry),
      });
    }

    /**
     * Takes the request in `budgets` (counted in all that count, or in none) and
     * answers: the first window without room refuses it; otherwise the headers
     * show the counting budget with the least left.
     */
    async function take(request: FastifyRequest, reply: FastifyReply, budgets: [Budget, boolean][], giveBack?: Slot) {
      const taken = await store.take(budgets.map(([budget, count]) => bucket(budget, request, count)), giveBack);
      const states = budgets.map(([budget], i) => ({ budget, state: taken.states[i]! }));
      if (!taken.allowed) {
        const full = states.find(({ state }) => !state.allowed)!;
        refuse(reply, full.budget, full.state);
      }
      const counted = states.filter((_, i) => budgets[i]![1]);
      const tightest = counted.reduce((a, b) => (b.budget.limit - b.state.count < a.budget.limit - a.state.count ? b : a));
      headers(reply, tightest.budget, tightest.state, false);
      return taken;
    }

    const limits: RateLimits = {
      async takeGuess(request, reply) {
        const taken = await take(request, reply, [[failures, true]]);
        return { key: failures.bucket(request), member: taken.member };
      },
      async countVerifiedKey(request, reply, guess) {
        await take(request, reply, [[key, true], [user, true]], guess);
      },
      async countRememberedKey(request, reply) {
        // The address first: a spent address is refused even for a valid key (see above).
        await take(request, reply, [[failures, false], [key, true], [user, true]]);
      },
      async returnGuess(guess) {
        await store.take([], guess);
      },
      async countAnonymous(request, reply) {
        await take(request, reply, [[anonymous, true]]);
      },
      async countKeyCreation(request, reply) {
        await take(request, reply, [[creations, true]]);
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
      if (request.is404) await limits.countAnonymous(request, reply);
    });
  },
  { name: 'rate-limits' },
);
