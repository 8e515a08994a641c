/**
 * Chart series: a metric's or heart rate's samples as min/avg/max/sum/count per
 * bucket of local time, computed by the database (storage/repositories/series.ts).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { canonicalMetricName } from '../../../ingest/metric-names.js';
import { AppError } from '../../../shared/errors.js';
import { readingsRepository, TYPED_METRICS } from '../../../storage/repositories/readings.js';
import { HEART_RATE_SERIES, MAX_SERIES_BUCKETS, metricSeries, seriesRepository, type SeriesRequest } from '../../../storage/repositories/series.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors, errorResponse } from '../../schemas/common.js';
import { metricParam, metricSeriesQuery, seriesList, seriesView } from '../../schemas/data.js';
import { checkUnit, PATHS } from './metrics.js';

const HEART_RATE_UNIT = TYPED_METRICS.find((metric) => metric.name === 'heart_rate')!.unit;

const DESCRIPTION =
  'Buckets follow the clock of tz: a day is local midnight to midnight (23 or 25 hours across a DST change), a week starts on Monday, a month on the 1st; ' +
  '1m, 15m and 1h buckets are that long from a boundary of the local clock (the hour repeated when clocks go back is two buckets). start and end are UTC instants, like every time in answers. ' +
  'Only buckets holding samples are listed, in time order; a series spans at most 5,000 buckets and is never paged. ' +
  'Every source is counted unless source= names one: where the phone and the watch both record (steps, distance), their samples are added, so pass source= for one device ' +
  '(the daily summary instead chooses one source per day).';

const tooMany = errorResponse(
  'BAD_REQUEST',
  `A parameter is not what this endpoint takes, or the range spans more than ${MAX_SERIES_BUCKETS.toLocaleString('en-US')} buckets`,
  `a 1m series from 2024-01-01T00:00:00.000Z to 2024-01-05T00:00:00.000Z spans more than ${MAX_SERIES_BUCKETS.toLocaleString('en-US')} buckets; ask for a shorter range or a larger bucket`,
);

const seriesRoutes: FastifyPluginAsyncZod = async (app) => {
  const readings = readingsRepository(app.services.db);
  const series = seriesRepository(app.services.db);

  /** Refuses a range of more buckets than one answer holds, naming the limit and the way out. */
  async function checkSize(request: SeriesRequest): Promise<void> {
    if ((await series.bucketCount(request)) <= MAX_SERIES_BUCKETS) return;
    const span = `from ${new Date(request.start).toISOString()} to ${new Date(request.end).toISOString()}`;
    throw new AppError('BAD_REQUEST', `a ${request.bucket} series ${span} spans more than ${MAX_SERIES_BUCKETS.toLocaleString('en-US')} buckets; ask for a shorter range or a larger bucket`);
  }

  app.get(
    '/data/metrics/:name/series',
    {
      schema: {
        tags: ['data'],
        summary: "One metric's min, avg, max, sum and count per bucket of local time (minute to month), in its canonical unit or in ?unit=",
        description: `${DESCRIPTION} Values stored in a unit this server does not know (kept as sent) are left out rather than mixed in.`,
        security: SECURITY,
        params: metricParam,
        querystring: metricSeriesQuery,
        response: {
          200: seriesList,
          ...authErrors,
          400: tooMany,
          404: errorResponse('NOT_FOUND', 'heart_rate has a series endpoint of its own; blood_pressure and sleep_analysis have none', 'heart_rate series are served by /api/v1/data/heart-rate/series'),
        },
      },
    },
    async (request) => {
      const metric = canonicalMetricName(request.params.name);
      const typed = TYPED_METRICS.find((entry) => entry.name === metric);
      if (typed?.store === 'heart_rate') throw new AppError('NOT_FOUND', `${metric} series are served by /api/v1/data/heart-rate/series`);
      if (typed) throw new AppError('NOT_FOUND', `${metric} has no series; its samples are served by ${PATHS[typed.store]}`);
      const userId = principalOf(request).userId;
      const { start, end, tz, bucket, source, unit } = request.query;
      const stored = await readings.metricUnit(userId, metric);
      if (unit !== undefined) checkUnit(metric, stored, unit);
      const query = { start, end, timeZone: tz, bucket, source };
      await checkSize(query);
      if (stored === null) return { items: [], next: null };
      const rows = await series.series(userId, metricSeries(metric, stored), query);
      return { items: rows.map((row) => seriesView(row, stored, unit)), next: null };
    },
  );

  app.get(
    '/data/heart-rate/series',
    {
      schema: {
        tags: ['data'],
        summary: 'Heart rate per bucket of local time (minute to month): the lowest min, the highest max, and the mean and total of the samples\' avg',
        description: `${DESCRIPTION} bucket=1m over a day gives the per-minute band (min to max) a chart draws.`,
        security: SECURITY,
        querystring: metricSeriesQuery,
        response: { 200: seriesList, ...authErrors, 400: tooMany },
      },
    },
    async (request) => {
      const { start, end, tz, bucket, source, unit } = request.query;
      if (unit !== undefined) checkUnit('heart_rate', HEART_RATE_UNIT, unit);
      const query = { start, end, timeZone: tz, bucket, source };
      await checkSize(query);
      const rows = await series.series(principalOf(request).userId, HEART_RATE_SERIES, query);
      return { items: rows.map((row) => seriesView(row, HEART_RATE_UNIT, unit)), next: null };
    },
  );
};

export default seriesRoutes;
