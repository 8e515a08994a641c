/**
 * The metrics a user has (name, canonical unit, count, first and last time), and
 * any quantity metric's samples, in the canonical unit or converted on request.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { canonicalMetricName } from '../../../ingest/metric-names.js';
import { convertibleUnits, convertUnit, lookupUnit } from '../../../ingest/units.js';
import { AppError } from '../../../shared/errors.js';
import { isKeyOf } from '../../../storage/repositories/keyset.js';
import { READING_KEYS, readingsRepository, TYPED_METRICS, type MetricStore } from '../../../storage/repositories/readings.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors, decodeCursor, encodeCursor, errorResponse, isoTime } from '../../schemas/common.js';
import { metricList, metricParam, metricSampleList, metricSamplesQuery, metricSampleView, pageQuery } from '../../schemas/data.js';
import { listOf, pageRequest } from './paging.js';

const METRIC_KEY = isKeyOf([
  { column: 'name', type: 'text' },
  { column: 'path', type: 'text' },
]);

/** Where each store's samples are served. */
const PATHS: Record<Exclude<MetricStore, 'quantity'>, string> = {
  heart_rate: '/api/v1/data/heart-rate',
  blood_pressure: '/api/v1/data/blood-pressure',
  sleep_segments: '/api/v1/data/sleep?detail=segments',
  sleep_nights: '/api/v1/data/sleep',
};
const pathOf = (name: string, store: MetricStore) => (store === 'quantity' ? `/api/v1/data/metrics/${encodeURIComponent(name)}` : PATHS[store]);

/** Code-unit order, the same whatever the database's collation. */
const byNameThenPath = (a: { name: string; path: string }, b: { name: string; path: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/** Refuses a unit the metric's values cannot be converted to, naming those they can. */
function checkUnit(metric: string, stored: string | null, unit: string): void {
  if (stored === null) {
    if (lookupUnit(unit) === null) throw new AppError('BAD_REQUEST', `unit: ${JSON.stringify(unit)} is not a unit this server knows`);
    return;
  }
  if (convertUnit(1, stored, unit) !== null) return;
  const supported = convertibleUnits(stored);
  throw new AppError(
    'BAD_REQUEST',
    supported.length > 0
      ? `unit: ${metric} is stored in ${stored} and cannot be given in ${JSON.stringify(unit)}; supported units: ${supported.join(', ')}`
      : `unit: ${metric} is stored in ${stored}, a unit this server cannot convert`,
  );
}

const metricRoutes: FastifyPluginAsyncZod = async (app) => {
  const readings = readingsRepository(app.services.db);

  app.get(
    '/data/metrics',
    {
      schema: {
        tags: ['data'],
        summary: 'The metrics this user has: name, canonical unit, sample count, first and last time, and where to read them',
        security: SECURITY,
        querystring: pageQuery.pick({ limit: true, cursor: true }),
        response: { 200: metricList, ...authErrors },
      },
    },
    async (request) => {
      const after = decodeCursor(request.query.cursor, METRIC_KEY);
      const all = (await readings.metrics(principalOf(request).userId))
        .map(({ store, ...row }) => ({ ...row, path: pathOf(row.name, store) }))
        .sort(byNameThenPath);
      const rest = after ? all.filter((row) => byNameThenPath(row, { name: after[0]!, path: after[1]! }) > 0) : all;
      const page = rest.slice(0, request.query.limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => ({ ...row, first: isoTime(row.first), last: isoTime(row.last) })),
        next: rest.length > page.length && last ? encodeCursor([last.name, last.path]) : null,
      };
    },
  );

  app.get(
    '/data/metrics/:name',
    {
      schema: {
        tags: ['data'],
        summary: "One metric's samples, in its canonical unit or in ?unit=",
        security: SECURITY,
        params: metricParam,
        querystring: metricSamplesQuery,
        response: { 200: metricSampleList, ...authErrors, 404: errorResponse('NOT_FOUND', 'heart_rate, blood_pressure and sleep_analysis have endpoints of their own', 'heart_rate samples are served by /api/v1/data/heart-rate') },
      },
    },
    async (request) => {
      const metric = canonicalMetricName(request.params.name);
      const typed = TYPED_METRICS.find((entry) => entry.name === metric);
      if (typed) throw new AppError('NOT_FOUND', `${metric} samples are served by ${PATHS[typed.store]}`);
      const userId = principalOf(request).userId;
      const { start, end, source, unit } = request.query;
      if (unit !== undefined) checkUnit(metric, await readings.metricUnit(userId, metric), unit);
      const page = await readings.metricSamples(userId, metric, { start, end, source }, pageRequest(request.query, READING_KEYS.metricSamples));
      return listOf(page, (row) => metricSampleView(row, unit));
    },
  );
};

export default metricRoutes;
