/**
 * buildApp(config, deps) assembles the whole service without listening: the
 * services over the given database (and Redis), then Fastify plugins in layers:
 * external first, then the app's own, then routes. Tests drive it with inject.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './config/config.js';
import errorHandler from './http/plugins/app/error-handler.js';
import jsonBody from './http/plugins/app/json-body.js';
import rateLimits from './http/plugins/app/rate-limits.js';
import requestTelemetry from './http/plugins/app/request-telemetry.js';
import securityHeaders from './http/plugins/app/security-headers.js';
import cors from './http/plugins/external/cors.js';
import compression from './http/plugins/external/compress.js';
import openapi from './http/plugins/external/swagger.js';
import routes from './http/routes/index.js';
import { serverOptions } from './http/server-options.js';
import { createServices, type ServiceDeps, type Services } from './services.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    config: Config;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const services = await createServices(config, deps);

  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // One line per request, written by request-telemetry.ts, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    ...serverOptions(config.edge),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('services', services);
  app.decorate('config', config);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
  });
  // The database outlives the app in tests (and could in a CLI): stop listening when the app closes.
  const stopPoolWait = deps.db.onPoolWait((seconds) => services.metrics.poolWait(seconds));
  app.addHook('onClose', async () => stopPoolWait());

  await app.register(openapi);
  await app.register(cors);
  await app.register(compression);
  await app.register(securityHeaders);
  await app.register(requestTelemetry);
  await app.register(jsonBody);
  await app.register(rateLimits);
  await app.register(errorHandler);
  await app.register(routes);
  return app as unknown as FastifyInstance;
}
