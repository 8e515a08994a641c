/** Sleep: summarised nights or raw segments, a keyset page at a time (the other sample lists are in readings.ts). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NIGHT_KEY, nightsPage } from '../../../storage/repositories/nights.js';
import { READINGS, readingsRepository } from '../../../storage/repositories/readings.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors } from '../../schemas/common.js';
import {
  sleepList,
  sleepNightView,
  sleepQuery,
  sleepSegmentView,
} from '../../schemas/data.js';
import { listOf, pageRequest } from './paging.js';

const sampleRoutes: FastifyPluginAsyncZod = async (app) => {
  const readings = readingsRepository(app.services.db);

  app.get(
    '/data/sleep',
    {
      schema: {
        tags: ['data'],
        summary: 'Sleep: nights (hours per stage, the ones /summary/daily chooses from), or the raw stage segments with detail=segments',
        security: SECURITY,
        querystring: sleepQuery,
        response: { 200: sleepList, ...authErrors },
      },
    },
    async (request) => {
      const { start, end, source, detail, tz } = request.query;
      const userId = principalOf(request).userId;
      if (detail === 'segments') {
        const reading = READINGS.sleepSegments;
        return listOf(await readings.list(reading, userId, { start, end, source }, pageRequest(request.query, reading.key)), sleepSegmentView);
      }
      const page = await nightsPage(app.services.db, userId, { start, end, source, timeZone: tz }, pageRequest(request.query, NIGHT_KEY));
      return listOf(page, sleepNightView);
    },
  );
};

export default sampleRoutes;
