/**
 * The metrics a user has (name, canonical unit, count, first and last time), every
 * type a user has (the metrics and the others), and any quantity metric's samples,
 * in the canonical unit or converted on request.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { canonicalMetricName } from '../../../ingest/metric-names.js';
import { convertibleUnits, convertUnit, lookupUnit } from '../../../ingest/units.js';
import { AppError } from '../../../shared/errors.js';
import { isKeyOf } from '../../../storage/repositories/keyset.js';
import { metricReading, readingsRepository, TYPED_METRICS, type MetricStore, type OtherStore } from '../../../storage/repositories/readings.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors, decodeCursor, encodeCursor, errorResponse, isoTime } from '../../schemas/common.js';
import { metricList, metricParam, metricSampleList, metricSamplesQuery, metricSampleView, pageQuery, typeList } from '../../schemas/data.js';
import { listOf, pageRequest } from './paging.js';

const METRIC_KEY = isKeyOf([
  { column: 'name', type: 'text' },
  { column: 'path', type: 'text' },
]);

/** Where each store's samples are served. */
export const PATHS: Record<Exclude<MetricStore, 'quantity'>, string> = {
  heart_rate: '/api/v1/data/heart-rate',
  blood_pressure: '/api/v1/data/blood-pressure',
  sleep_segments: '/api/v1/data/sleep?detail=segments',
  sleep_nights: '/api/v1/data/sleep',
};
/** Event types are served under their by_type name with hyphens (state_of_mind: /data/state-of-mind). */
const pathOf = (name: string, store: MetricStore | OtherStore) =>
  store === 'quantity'
    ? `/api/v1/data/metrics/${encodeURIComponent(name)}`
    : store === 'events' || store === 'ecg' || store === 'workouts'
      ? `/api/v1/data/${name.replaceAll('_', '-')}`
      : PATHS[store];

/** Code-unit order, the same whatever the database's collation. */
const byNameThenPath = (a: { name: string; path: string }, b: { name: string; path: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/**
 * A page of a short list held whole (a user has tens of types, not thousands), in
 * name-then-path order, continued after the cursor's (name, path).
 */
function pageOfSummaries<R extends { name: string; path: string; first: Date; last: Date }>(rows: R[], query: { limit: number; cursor?: string }) {
  const after = decodeCursor(query.cursor, METRIC_KEY);
  const all = rows.sort(byNameThenPath);
  const rest = after ? all.filter((row) => byNameThenPath(row, { name: after[0]!, path: after[1]! }) > 0) : all;
  const page = rest.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({ ...row, first: isoTime(row.first), last: isoTime(row.last) })),
    next: rest.length > page.length && last ? encodeCursor([last.name, last.path]) : null,
  };
}

/** Refuses a unit the metric's values cannot be converted to, naming those they can. */
export function checkUnit(metric: string, stored: string | null, unit: string): void {
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
      const rows = (await readings.metrics(principalOf(request).userId)).map(({ store, ...row }) => ({ ...row, path: pathOf(row.name, store) }));
      return pageOfSummaries(rows, request.query);
    },
  );

  app.get(
    '/data/types',
    {
      schema: {
        tags: ['data'],
        summary: 'Every type this user has (metrics, workouts, state of mind, symptoms, medications, cycle tracking, heart-rate notifications, ECG) with count, first and last time, and where to read it',
        security: SECURITY,
        querystring: pageQuery.pick({ limit: true, cursor: true }),
        response: { 200: typeList, ...authErrors },
      },
    },
    async (request) => {
      const rows = (await readings.types(principalOf(request).userId)).map(({ store, ...row }) => ({ ...row, path: pathOf(row.name, store) }));
      const page = pageOfSummaries(rows, request.query);
      return { ...page, items: page.items.map(({ name, ...item }) => ({ type: name, ...item })) };
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
      const reading = metricReading(metric);
      const page = await readings.list(reading, userId, { start, end, source }, pageRequest(request.query, reading.key));
      return listOf(page, (row) => metricSampleView(row, unit));
    },
  );
};

export default metricRoutes;
