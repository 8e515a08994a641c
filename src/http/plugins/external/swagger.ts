/**
 * The OpenAPI 3 document, generated from the zod schemas each route declares,
 * served at /openapi.json; Swagger UI at /docs. `npm run cli -- openapi` writes
 * the same document to docs/openapi.json.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { ZodType } from 'zod';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The body a route reads by itself (POST /ingest reads the raw stream, to
     * archive it byte for byte): shown in the document as the request body,
     * never used to validate.
     */
    documentedBody?: ZodType;
  }
}

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

/** Also: a 204 is documented without content (zod's z.null() would otherwise show a JSON body). */
function transform(input: TransformInput) {
  const { documentedBody, ...schema } = (input.schema ?? {}) as { documentedBody?: ZodType };
  const result = jsonSchemaTransform(documentedBody ? { ...input, schema: { ...schema, body: documentedBody } } : input);
  const responses = (result.schema as { response?: Record<string, { description?: string }> } | undefined)?.response;
  if (responses?.['204']) responses['204'] = { type: 'null', description: responses['204'].description ?? 'No content' } as { description: string };
  return result;
}

export default fp(
  async function openapi(app: FastifyInstance) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Health Export API',
          version: '0.1.0',
          description: 'Receives Health Auto Export uploads and serves the stored Apple Health data back.',
        },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer <key>`' },
            xApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
            apiKey: { type: 'apiKey', in: 'header', name: 'api-key' },
          },
        },
      },
      transform,
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
