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
 * address out of failures is refused first, a failure counts against the
 * address, a verified key counts against itself (before the scope check, since
 * a wrong-scope request still used the key).
 */
export function requireScope(...scopes: Scope[]): onRequestHookHandler {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const limits = request.server.rateLimits;
    await limits.beforeAuthentication(request, reply);
    let principal: Principal;
    try {
      principal = await request.server.services.keys.authenticate(presentedKey(request), {
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
    } catch (error) {
      if (error instanceof AppError && error.code === 'UNAUTHORIZED') await limits.countAddress(request, reply);
      throw error;
    }
    request.principal = principal;
    await limits.countKey(request, reply);
    if (!scopes.some((scope) => hasScope(principal, scope))) {
      throw new AppError('FORBIDDEN', `this key lacks the ${scopes.join(' or ')} scope`);
    }
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED', 'missing API key', { 'WWW-Authenticate': 'Bearer' });
  return request.principal;
}
