/**
 * GET /export streams every sample of the caller's in the chosen format as an
 * attachment. Rows are read a batch at a time and written as they come, with the
 * socket's backpressure pacing the reads, so memory does not grow with the range;
 * a client that hangs up stops the reading.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EXPORT_CONTENT_TYPES, encodeExport } from '../../../export/encode.js';
import { exportRecords } from '../../../storage/repositories/export.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors } from '../../schemas/common.js';
import { rangeQuery } from '../../schemas/data.js';

const typeName = /^[A-Za-z0-9_.-]{1,200}$/;

const exportQuery = rangeQuery.extend({
  format: z.enum(['json', 'ndjson', 'csv']).default('json').describe('json is the standard ingest format: POST it to /api/v1/ingest to import it again').meta({ example: 'ndjson' }),
  types: z
    .string()
    .max(4000)
    .transform((text, ctx) => {
      const types = [...new Set(text.split(',').map((type) => type.trim()).filter((type) => type !== ''))];
      const bad = types.find((type) => !typeName.test(type));
      if (bad !== undefined || types.length === 0) {
        ctx.addIssue({ code: 'custom', message: `types must be a comma-separated list of by_type names such as step_count,heart_rate,workouts${bad ? `; ${JSON.stringify(bad)} is not one` : ''}` });
        return z.NEVER;
      }
      return types;
    })
    .optional()
    .describe('Comma-separated by_type names (step_count, heart_rate, sleep_analysis, workouts, ecg, state_of_mind, ...); all when absent')
    .meta({ example: 'step_count,heart_rate,workouts' }),
});

const exportRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/export',
    {
      // A HEAD would walk every table only to throw the body away.
      exposeHeadRoute: false,
      schema: {
        tags: ['data'],
        summary: "Download the caller's samples as json (standard ingest format), ndjson or csv",
        security: SECURITY,
        querystring: exportQuery,
        response: {
          200: z.unknown().meta({
            description: 'The export, streamed as an attachment (application/json, application/x-ndjson or text/csv); the example is format=json',
            example: { samples: [{ kind: 'quantity', type: 'step_count', start: '2024-03-14T05:23:00.000Z', end: '2024-03-14T05:23:00.000Z', source: 'Apple Watch', value: 20, unit: 'count' }] },
          }),
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const { format, start, end, types } = request.query;
      const batches = exportRecords(app.services.db, principalOf(request).userId, { start, end, types }, app.config.reading.exportBatchRows);
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type(EXPORT_CONTENT_TYPES[format])
        .header('Content-Disposition', `attachment; filename="health-export-${stamp}.${format}"`)
        .header('Cache-Control', 'private, no-store')
        .send(Readable.from(encodeExport(batches, format), { objectMode: false }));
    },
  );
};

export default exportRoutes;
