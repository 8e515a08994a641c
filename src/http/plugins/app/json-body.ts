/**
 * Every JSON body, on every route, is parsed by the ingest path's parseJson:
 * one set of rules for hostile input (UTF-8 only, depth, string length,
 * prototype poisoning) and one set of messages. Fastify's bodyLimit (1 MiB)
 * still bounds these bodies; only /ingest reads larger ones, as a stream.
 * JSON is the only body these routes take: text/plain, which Fastify would
 * hand them as a string, is refused with 415 like any other type.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { parseJson } from '../../../ingest/process.js';

export default fp(
  async function jsonBody(app: FastifyInstance) {
    const limits = app.config.edge.json;
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        done(null, parseJson(body as Buffer, limits));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
  },
  { name: 'json-body' },
);
