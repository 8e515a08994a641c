/**
 * @fastify/rate-limit over the app's sliding-window store (the plugin's own
 * Redis store is a fixed window, which lets a client send twice the limit
 * across a boundary). Registered with `global: false`: which bucket a request
 * counts against depends on whether its key is valid, so the limits are applied
 * by the authentication hook (src/http/plugins/app/rate-limits.ts).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RateLimitStore } from '../../../storage/rate-limit/index.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** The store interface the plugin instantiates: `current` above `max` means refused. */
function pluginStore(store: RateLimitStore) {
  return class SlidingWindowStore {
    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      store.hit(key, max, timeWindow).then(
        (state) => callback(null, { current: state.allowed ? state.count : state.count + 1, ttl: state.resetMs }),
        (error: Error) => callback(error),
      );
    }

    read(key: string, callback: Callback, timeWindow: number, max: number): void {
      store.peek(key, max, timeWindow).then(
        (state) => callback(null, { current: state.count, ttl: state.resetMs }),
        (error: Error) => callback(error),
      );
    }

    child(): SlidingWindowStore {
      return this;
    }
  };
}

export default fp(
  async function rateLimitPlugin(app: FastifyInstance) {
    await app.register(rateLimit, { global: false, store: pluginStore(app.services.rateLimits) });
  },
  { name: 'rate-limit' },
);
