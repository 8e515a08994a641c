/**
 * Authentication is applied by registering routes inside a scope that adds
 * `requireScope(...)` as an onRequest hook, never by matching URLs. It runs
 * before the body is read, so an unauthenticated upload is refused unread.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { hasScope, type Principal } from '../../../auth/key-service.js';
import { AppError } from '../../../shared/errors.js';
import type { Scope } from '../../../storage/repositories/api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The key from whichever header the app was configured with. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer[ ]+(.*)$/i.exec(authorization);
    return match ? match[1]!.trim() : authorization.trim();
  }
  const header = request.headers['x-api-key'] ?? request.headers['api-key'];
  return typeof header === 'string' ? header.trim() : Array.isArray(header) ? header[0] : undefined;
}

/**
 * Rate limits wrap the verification (src/http/plugins/app/rate-limits.ts). A
 * request without a key counts against its address's budget for keyless
 * requests. A presented key takes one of its address's failed-authentication
 * slots before argon2 runs, keeps it when it fails and gives it back when it is
 * valid, counting against its key and user instead (before the scope check,
 * since a wrong-scope request still used the key). A key this process has
 * verified recently costs no argon2: its address check goes to the store with
 * its count, in one round trip; the answer to a refused address is the same.
 */
export function requireScope(...scopes: Scope[]): onRequestHookHandler {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const limits = request.server.rateLimits;
    const { keys } = request.server.services;
    const presented = presentedKey(request);
    const client = { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
    let principal: Principal;
    if (presented === undefined) {
      await limits.countAnonymous(request, reply);
      principal = await keys.authenticate(presented, client);
    } else if (keys.remembers(presented)) {
      try {
        principal = await keys.authenticate(presented, client);
      } catch (error) {
        // Expired since it was remembered: a failure like any other.
        if (error instanceof AppError && error.code === 'UNAUTHORIZED') await limits.takeGuess(request, reply);
        throw error;
      }
      request.principal = principal;
      await limits.countRememberedKey(request, reply);
    } else {
      const guess = await limits.takeGuess(request, reply);
      try {
        principal = await keys.authenticate(presented, client);
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'UNAUTHORIZED')) await limits.returnGuess(guess);
        throw error;
      }
      request.principal = principal;
      await limits.countVerifiedKey(request, reply, guess);
    }
    if (!scopes.some((scope) => hasScope(principal, scope))) {
      throw new AppError('FORBIDDEN', `this key lacks the ${scopes.join(' or ')} scope`);
    }
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED', 'missing API key', { 'WWW-Authenticate': 'Bearer' });
  return request.principal;
}
