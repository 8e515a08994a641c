/** GET /summary/daily: one item per local day, totals by the rules in api.md. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { summaryRepository } from '../../../storage/repositories/summary.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors } from '../../schemas/common.js';
import { summaryList, summaryQuery, summaryView } from '../../schemas/data.js';

const summaryRoutes: FastifyPluginAsyncZod = async (app) => {
  const summary = summaryRepository(app.services.db);

  app.get(
    '/summary/daily',
    {
      schema: {
        tags: ['data'],
        summary: 'Per local day: steps, distance, energy, exercise, flights, heart rate, HRV and sleep (at most 366 days)',
        description:
          'Additive metrics take, per day, the source with the most samples (a tie goes to the larger total), after dropping coarse buckets a source also sent at a finer grain. ' +
          'Sleep is one of the nights /data/sleep?detail=nights lists for the date (same tz): raw segments count for the day they end before 18:00 on, summarised nights for the local date of their end; ' +
          'nights built from segments win, then the source with the most samples, then the longer sleep. null where there is no data.',
        security: SECURITY,
        querystring: summaryQuery,
        response: { 200: summaryList, ...authErrors },
      },
    },
    async (request) => {
      const { start, end, tz } = request.query;
      const rows = await summary.daily(principalOf(request).userId, start, end, tz);
      return { items: rows.map(summaryView), next: null };
    },
  );
};

export default summaryRoutes;
