/**
 * Reading the data back, with a `read` key and only ever the caller's own data.
 * JSON answers carry an ETag and `Cache-Control: private` and honour If-None-Match;
 * the streamed export does not (hashing it would mean holding it whole).
 */
import type { FastifyInstance } from 'fastify';
import { conditionalGet } from '../../plugins/app/etag.js';
import { requireScope } from '../../plugins/app/auth.js';
import exportRoutes from './export.js';
import metricRoutes from './metrics.js';
import readingRoutes from './readings.js';
import sampleRoutes from './samples.js';
import seriesRoutes from './series.js';
import summaryRoutes from './summary.js';
import workoutRoutes from './workouts.js';

export default async function dataRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', requireScope('read'));
  await app.register(async (cached) => {
    cached.addHook('onSend', conditionalGet);
    await cached.register(readingRoutes);
    await cached.register(sampleRoutes);
    await cached.register(metricRoutes);
    await cached.register(seriesRoutes);
    await cached.register(workoutRoutes);
    await cached.register(summaryRoutes);
  });
  await app.register(exportRoutes);
}
