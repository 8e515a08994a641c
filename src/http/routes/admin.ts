/** Users (created, listed, erased) and the audit log: admin scope only. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { emailAddress } from '../../shared/email.js';
import { AppError, notFound } from '../../shared/errors.js';
import { auditRepository } from '../../storage/repositories/audit.js';
import { isKeyRecord } from '../../storage/repositories/keyset.js';
import { UNCLAIMED_USER, usersRepository } from '../../storage/repositories/users.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { auditSchema, userSchema, userView } from '../schemas/users.js';
import { SECURITY, authErrors, decodeCursor, errorResponse, isCreatedKey, listFrom, listQuery, listSchema, isoTime, uuidParam } from '../schemas/common.js';

const isAuditKey = isKeyRecord({ id: 'bigint' });

const erasedUserSchema = z
  .object({
    id: z.uuid(),
    samples: z.number().int().describe('Samples deleted (a workout counts once, with its route and series)'),
    ingestions: z.number().int().describe('Archived uploads deleted'),
    rejections: z.number().int().describe('Kept rejections deleted'),
    keys: z.number().int().describe('API keys deleted'),
  })
  .meta({ id: 'ErasedUser', example: { id: 'b167adc8-85aa-45b5-9000-dab05cfe94e0', samples: 48211, ingestions: 97, rejections: 12, keys: 2 } });

const adminRoutes: FastifyPluginAsyncZod = async (app) => {
  const users = usersRepository(app.services.db);
  const audit = auditRepository(app.services.db);
  app.addHook('onRequest', requireScope('admin'));

  app.post(
    '/admin/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a user',
        security: SECURITY,
        body: z.object({ email: emailAddress }).meta({ example: { email: 'me@example.com' } }),
        response: {
          201: userSchema.describe('The user, created'),
          ...authErrors,
          409: errorResponse('CONFLICT', 'A user with this email exists', 'email: a user with me@example.com already exists'),
        },
      },
    },
    async (request, reply) => {
      const row = await app.services.keys.createUser(request.body.email, principalOf(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
      if (!row) throw new AppError('CONFLICT', `email: a user with ${request.body.email} already exists`);
      return reply.status(201).send(userView(row));
    },
  );

  app.get(
    '/admin/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'List users',
        security: SECURITY,
        querystring: listQuery,
        response: { 200: listSchema(userSchema, 'Users, oldest first'), ...authErrors },
      },
    },
    async (request) => {
      const after = decodeCursor(request.query.cursor, isCreatedKey);
      const rows = await users.list(request.query.limit + 1, after);
      return listFrom(rows, request.query.limit, userView, (last) => ({ created_at: isoTime(last.created_at), id: last.id }));
    },
  );

  app.delete(
    '/admin/users/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Erase a user: samples, archived uploads, rejections, keys and the user itself, in one transaction',
        description:
          'The audit log keeps that it happened (action user.erased, the user id and the counts), never the email. ' +
          "The user's keys stop working at once on this instance, and within API_KEY_CACHE_SECONDS on others without Redis.",
        security: SECURITY,
        params: uuidParam,
        response: {
          200: erasedUserSchema,
          ...authErrors,
          404: errorResponse('NOT_FOUND', 'No such user', 'user not found'),
          409: errorResponse('CONFLICT', "The caller's own user, or the built-in unclaimed user", 'the calling key belongs to this user: erase it with another admin\'s key'),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { id } = request.params;
      if (id === principal.userId) throw new AppError('CONFLICT', "the calling key belongs to this user: erase it with another admin's key");
      if (id === UNCLAIMED_USER.id) throw new AppError('CONFLICT', 'the built-in unclaimed user cannot be erased (it owns MQTT messages that named no usable key)');
      const erased = await app.services.erasure.user(id, { keyId: principal.keyId, ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
      if (!erased) throw notFound('user');
      const { keyIds: _keyIds, ...counts } = erased;
      return { id, ...counts };
    },
  );

  app.get(
    '/admin/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'The audit log, newest first: keys created and revoked, failed authentications, admin actions',
        security: SECURITY,
        querystring: listQuery,
        response: { 200: listSchema(auditSchema, 'Audit entries, newest first'), ...authErrors },
      },
    },
    async (request) => {
      const before = decodeCursor(request.query.cursor, isAuditKey);
      const rows = await audit.list(request.query.limit + 1, before?.id);
      return listFrom(rows, request.query.limit, ({ id: _id, at, ...rest }) => ({ at: isoTime(at), ...rest }), (last) => ({ id: last.id }));
    },
  );
};

export default adminRoutes;
