/**
 * GET and PUT /api/v1/admin/logging/level: the process's log level, changed
 * without a restart. The level is set on the root logger; child loggers (the
 * app's, each request's) follow it unless they were given a level of their own.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SETTINGS } from '../../config/schema.js';
import { auditRepository } from '../../storage/repositories/audit.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { SECURITY, authErrors } from '../schemas/common.js';

const levelSchema = z.object({ level: SETTINGS.LOG_LEVEL.schema }).meta({ id: 'LogLevel', example: { level: 'debug' } });

const loggingRoutes: FastifyPluginAsyncZod = async (app) => {
  const { logger } = app.services;
  const audit = auditRepository(app.services.db);
  app.addHook('onRequest', requireScope('admin'));

  app.get(
    '/admin/logging/level',
    { schema: { tags: ['admin'], summary: 'The current log level', security: SECURITY, response: { 200: levelSchema.describe('The level now'), ...authErrors } } },
    async () => levelSchema.parse({ level: logger.level }),
  );

  app.put(
    '/admin/logging/level',
    {
      schema: {
        tags: ['admin'],
        summary: 'Change the log level of this process now (until restart; LOG_LEVEL sets it at start)',
        security: SECURITY,
        body: levelSchema,
        response: { 200: levelSchema.describe('The level now in force'), ...authErrors },
      },
    },
    async (request) => {
      const previous = logger.level;
      logger.level = request.body.level;
      await audit.record({
        action: 'logging.level',
        keyId: principalOf(request).keyId,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
        reason: `${previous} -> ${request.body.level}`,
      });
      request.log.info({ from: previous, to: request.body.level }, 'log level changed');
      return { level: request.body.level };
    },
  );
};

export default loggingRoutes;
