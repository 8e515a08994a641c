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
 * Rate limits wrap the verification (src/http/plugins/app/rate-limits.ts): an
 * address out of failures is refused before argon2 runs, a failure counts
 * against the address, a verified key counts against itself (before the scope
 * check, since a wrong-scope request still used the key). A key this process
 * has verified recently costs no argon2, so its address check goes to the store
 * with its count, in one round trip; the answer to a refused address is the same.
 */
export function requireScope(...scopes: Scope[]): onRequestHookHandler {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const limits = request.server.rateLimits;
    const { keys } = request.server.services;
    const presented = presentedKey(request);
    const remembered = keys.remembers(presented);
    if (!remembered) await limits.beforeAuthentication(request, reply);
    let principal: Principal;
    try {
      principal = await keys.authenticate(presented, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
    } catch (error) {
      if (error instanceof AppError && error.code === 'UNAUTHORIZED') await limits.countAddress(request, reply);
      throw error;
    }
    request.principal = principal;
    await (remembered ? limits.checkAddressAndCountKey(request, reply) : limits.countKey(request, reply));
    if (!scopes.some((scope) => hasScope(principal, scope))) {
      throw new AppError('FORBIDDEN', `this key lacks the ${scopes.join(' or ')} scope`);
    }
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED', 'missing API key', { 'WWW-Authenticate': 'Bearer' });
  return request.principal;
}
