/**
 * API keys. An admin creates keys for any user (named by user_id or email); a
 * user creates keys for itself with scopes no wider than its own. No key creates
 * one that outlives it, and creations count against the user's
 * KEY_CREATIONS_PER_USER_PER_HOUR (each costs an argon2 hash). Only an admin
 * registers a UUID of its choosing as a key: anyone else could otherwise try
 * UUIDs and learn from the answer which are other users' keys. The secret is in
 * the creation answer only; lists never show a key or its hash.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hasScope } from '../../auth/key-service.js';
import { AppError, notFound } from '../../shared/errors.js';
import { apiKeysRepository, type Scope } from '../../storage/repositories/api-keys.js';
import { usersRepository } from '../../storage/repositories/users.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { createSchema, createdSchema, keySchema, keyView } from '../schemas/keys.js';
import { SECURITY, authErrors, decodeCursor, errorResponse, isCreatedKey, listFrom, listQuery, listSchema, uuidParam, isoTime } from '../schemas/common.js';

const keyRoutes: FastifyPluginAsyncZod = async (app) => {
  const users = usersRepository(app.services.db);
  const keys = apiKeysRepository(app.services.db);
  app.addHook('onRequest', requireScope('ingest', 'read'));

  app.post(
    '/auth/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the answer holds the key, once',
        security: SECURITY,
        body: createSchema,
        response: {
          201: createdSchema.describe('The key, created; `key` is in this answer only'),
          ...authErrors,
          403: errorResponse(
            'FORBIDDEN',
            "A scope wider than the calling key's, an expiry after the calling key's, a uuid or a user other than the caller's without admin",
            'scopes: this key cannot grant admin',
          ),
          404: errorResponse('NOT_FOUND', 'No user with that user_id or email', 'user not found'),
          409: errorResponse('CONFLICT', 'That UUID is already registered as a key (admins only register UUIDs)', 'uuid: this UUID is already registered as a key'),
          429: errorResponse('RATE_LIMITED', 'The user created KEY_CREATIONS_PER_USER_PER_HOUR keys in the window', 'too many API keys created by this user (10 per 3600 s); retry in 1480 s'),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const admin = hasScope(principal, 'admin');
      const { body } = request;
      let userId = principal.userId;
      if (body.uuid !== undefined && !admin) throw new AppError('FORBIDDEN', 'uuid: only an admin key may register a UUID as a key');
      if (body.user_id !== undefined || body.email !== undefined) {
        if (!admin) throw new AppError('FORBIDDEN', 'only an admin key may create keys for another user');
        const byId = body.user_id ? await users.findById(body.user_id) : null;
        const byEmail = body.email ? await users.findByEmail(body.email) : null;
        if ((body.user_id && !byId) || (body.email && !byEmail)) throw notFound('user');
        if (byId && byEmail && byId.id !== byEmail.id) throw new AppError('BAD_REQUEST', 'user_id and email name different users');
        userId = (byId ?? byEmail)!.id;
      }
      const wider = body.scopes.filter((scope: Scope) => !hasScope(principal, scope));
      if (wider.length > 0) throw new AppError('FORBIDDEN', `scopes: this key cannot grant ${wider.join(', ')}`);
      if (body.expires_at && Date.parse(body.expires_at) <= Date.now()) throw new AppError('BAD_REQUEST', 'expires_at: must be in the future');
      // A key that expires cannot pass on a longer life: without expires_at, the new key ends with it.
      const expiresAt = body.expires_at ?? principal.expiresAt;
      if (principal.expiresAt && expiresAt && Date.parse(expiresAt) > Date.parse(principal.expiresAt)) {
        throw new AppError('FORBIDDEN', `expires_at: this key expires at ${principal.expiresAt}; a key it creates cannot outlive it`);
      }
      await app.rateLimits.countKeyCreation(request, reply);
      const { key, row } = await app.services.keys.create({
        userId,
        name: body.name,
        scopes: [...new Set(body.scopes)],
        expiresAt,
        ...(body.uuid ? { secret: body.uuid } : {}),
        actor: principal,
        client: { ip: request.ip, userAgent: request.headers['user-agent'] ?? null },
      });
      return reply.status(201).send({ ...keyView(row), key });
    },
  );

  app.get(
    '/auth/keys',
    {
      schema: {
        tags: ['keys'],
        summary: "List keys (an admin sees every user's); never the key or its hash",
        security: SECURITY,
        querystring: listQuery,
        response: { 200: listSchema(keySchema, 'Keys, oldest first, revoked and expired ones included'), ...authErrors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const after = decodeCursor(request.query.cursor, isCreatedKey);
      const rows = await keys.list(hasScope(principal, 'admin') ? null : principal.userId, request.query.limit + 1, after);
      return listFrom(rows, request.query.limit, keyView, (last) => ({ created_at: isoTime(last.created_at), id: last.id }));
    },
  );

  app.get(
    '/auth/keys/current',
    {
      schema: {
        tags: ['keys'],
        summary: 'The calling key: its name, scopes, user and expiry (the dashboard signs in with it)',
        security: SECURITY,
        response: { 200: keySchema, ...authErrors },
      },
    },
    async (request) => {
      const row = await keys.findById(principalOf(request).keyId);
      if (!row) throw notFound('key');
      return keyView(row);
    },
  );

  app.delete(
    '/auth/keys/:id',
    {
      schema: {
        tags: ['keys'],
        summary: 'Revoke a key: at once on this instance, within API_KEY_CACHE_SECONDS on others',
        security: SECURITY,
        params: uuidParam,
        response: { 204: z.null().describe('Revoked'), ...authErrors, 404: errorResponse('NOT_FOUND', 'No such key, or another user\'s (for a key without admin)', 'key not found') },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const row = await app.services.keys.revoke(request.params.id, principal, {
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      if (!row) throw notFound('key');
      return reply.status(204).send(null);
    },
  );
};

export default keyRoutes;
