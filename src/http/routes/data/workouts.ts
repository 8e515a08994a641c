/** Workouts: a keyset list (optionally within a bounding box) and one workout with its route and series. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../../../shared/errors.js';
import { WORKOUT_KEY, workoutsRepository } from '../../../storage/repositories/workouts.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors, errorResponse } from '../../schemas/common.js';
import { workoutDetail, workoutDetailView, workoutList, workoutParam, workoutsQuery, workoutView } from '../../schemas/data.js';
import { listOf, pageRequest } from './paging.js';

const workoutRoutes: FastifyPluginAsyncZod = async (app) => {
  const workouts = workoutsRepository(app.services.db, { postgis: app.services.postgis });

  app.get(
    '/data/workouts',
    {
      schema: {
        tags: ['data'],
        summary: 'Workouts by start time; with bbox, only those whose route crosses the box',
        description:
          'The bbox filter uses each route\'s stored bounding box on every database, refined by ST_Intersects on the route line where PostGIS is installed.',
        security: SECURITY,
        querystring: workoutsQuery,
        response: { 200: workoutList, ...authErrors },
      },
    },
    async (request) => {
      const { start, end, bbox } = request.query;
      const page = await workouts.list(principalOf(request).userId, { start, end, bbox }, pageRequest(request.query, WORKOUT_KEY));
      return listOf(page, workoutView);
    },
  );

  app.get(
    '/data/workouts/:id',
    {
      schema: {
        tags: ['data'],
        summary: 'One workout: summary, series, and its route as a GeoJSON LineString',
        security: SECURITY,
        params: workoutParam,
        response: { 200: workoutDetail, ...authErrors, 404: errorResponse('NOT_FOUND', "No such workout, or another user's (the same answer)", 'workout not found') },
      },
    },
    async (request) => {
      // Another user's workout is not found, exactly like a missing one.
      const found = await workouts.find(principalOf(request).userId, request.params.id);
      if (!found) throw notFound('workout');
      return workoutDetailView(found.workout, found.route, found.series);
    },
  );
};

export default workoutRoutes;
