/** Heart rate, blood pressure and sleep samples, a keyset page at a time. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NIGHT_KEY, nightsPage } from '../../../storage/repositories/nights.js';
import { READING_KEYS, readingsRepository } from '../../../storage/repositories/readings.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors } from '../../schemas/common.js';
import {
  bloodPressureList,
  bloodPressureView,
  heartRateList,
  heartRateView,
  samplesQuery,
  sleepList,
  sleepNightView,
  sleepQuery,
  sleepSegmentView,
} from '../../schemas/data.js';
import { listOf, pageRequest } from './paging.js';

const sampleRoutes: FastifyPluginAsyncZod = async (app) => {
  const readings = readingsRepository(app.services.db);

  app.get(
    '/data/heart-rate',
    {
      schema: {
        tags: ['data'],
        summary: 'Heart-rate samples (min/avg/max bpm), by start time',
        security: SECURITY,
        querystring: samplesQuery,
        response: { 200: heartRateList, ...authErrors },
      },
    },
    async (request) => {
      const { start, end, source } = request.query;
      const page = await readings.heartRate(principalOf(request).userId, { start, end, source }, pageRequest(request.query, READING_KEYS.heartRate));
      return listOf(page, heartRateView);
    },
  );

  app.get(
    '/data/blood-pressure',
    {
      schema: {
        tags: ['data'],
        summary: 'Blood-pressure readings (mmHg), by start time',
        security: SECURITY,
        querystring: samplesQuery,
        response: { 200: bloodPressureList, ...authErrors },
      },
    },
    async (request) => {
      const { start, end, source } = request.query;
      const page = await readings.bloodPressure(principalOf(request).userId, { start, end, source }, pageRequest(request.query, READING_KEYS.bloodPressure));
      return listOf(page, bloodPressureView);
    },
  );

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
        return listOf(await readings.sleepSegments(userId, { start, end, source }, pageRequest(request.query, READING_KEYS.sleepSegments)), sleepSegmentView);
      }
      const page = await nightsPage(app.services.db, userId, { start, end, source, timeZone: tz }, pageRequest(request.query, NIGHT_KEY));
      return listOf(page, sleepNightView);
    },
  );
};

export default sampleRoutes;
