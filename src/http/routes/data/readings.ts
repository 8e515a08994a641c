/**
 * Every plain sample list, built by one generic route from a table of endpoints:
 * each names its path, the reading (table, key, type) it lists, the item shape
 * and the view that turns a row into that shape. The view must return the item's
 * type, and the cursor is checked against the reading's own key, so a route
 * cannot be paired with another list's key or shape and still compile.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { notFound } from '../../../shared/errors.js';
import { READINGS, readingsRepository, type ReadingTable, type Row } from '../../../storage/repositories/readings.js';
import { principalOf } from '../../plugins/app/auth.js';
import { SECURITY, authErrors, errorResponse, listSchema } from '../../schemas/common.js';
import {
  bloodPressureItem,
  bloodPressureView,
  cycleTrackingItem,
  ecgDetail,
  ecgDetailView,
  ecgItem,
  ecgParam,
  ecgView,
  eventView,
  heartRateItem,
  heartRateNotificationItem,
  heartRateView,
  medicationItem,
  samplesQuery,
  stateOfMindItem,
  symptomItem,
} from '../../schemas/data.js';
import { listOf, pageRequest } from './paging.js';

interface ReadingEndpoint<T> {
  path: string;
  summary: string;
  /** What a page of the list is, for the OpenAPI document. */
  list: string;
  reading: ReadingTable;
  item: z.ZodType<T>;
  view: (row: Row) => T;
}

/** Ties an endpoint's view to its item type (inferred once, checked against both). */
const endpoint = <T>(definition: ReadingEndpoint<T>): ReadingEndpoint<T> => definition;

export const READING_ENDPOINTS = [
  endpoint({
    path: '/data/heart-rate',
    summary: 'Heart-rate samples (min/avg/max bpm), by start time',
    list: 'Heart-rate samples, oldest first unless order=desc',
    reading: READINGS.heartRate,
    item: heartRateItem,
    view: heartRateView,
  }),
  endpoint({
    path: '/data/blood-pressure',
    summary: 'Blood-pressure readings (mmHg), by start time',
    list: 'Blood-pressure readings',
    reading: READINGS.bloodPressure,
    item: bloodPressureItem,
    view: bloodPressureView,
  }),
  endpoint({
    path: '/data/state-of-mind',
    summary: 'State of mind entries (moods and emotions), as sent, by start time',
    list: 'State of mind entries',
    reading: READINGS.stateOfMind,
    item: stateOfMindItem,
    view: eventView,
  }),
  endpoint({
    path: '/data/symptoms',
    summary: 'Symptoms, as sent, by start time',
    list: 'Symptoms',
    reading: READINGS.symptoms,
    item: symptomItem,
    view: eventView,
  }),
  endpoint({
    path: '/data/medications',
    summary: 'Medication doses (taken, skipped, ...), as sent, by start time',
    list: 'Medication doses',
    reading: READINGS.medications,
    item: medicationItem,
    view: eventView,
  }),
  endpoint({
    path: '/data/cycle-tracking',
    summary: 'Cycle-tracking entries, as sent, by start time',
    list: 'Cycle-tracking entries',
    reading: READINGS.cycleTracking,
    item: cycleTrackingItem,
    view: eventView,
  }),
  endpoint({
    path: '/data/heart-rate-notifications',
    summary: 'Heart-rate notifications (high, low, irregular rhythm), as sent, by start time',
    list: 'Heart-rate notifications',
    reading: READINGS.heartRateNotifications,
    item: heartRateNotificationItem,
    view: eventView,
  }),
  endpoint({
    path: '/data/ecg',
    summary: 'ECG recordings without their voltages (GET /data/ecg/{id} has them), by start time',
    list: 'ECG recordings, without voltages',
    reading: READINGS.ecg,
    item: ecgItem,
    view: ecgView,
  }),
];

const readingRoutes: FastifyPluginAsyncZod = async (app) => {
  const readings = readingsRepository(app.services.db);

  for (const { path, summary, list, reading, item, view } of READING_ENDPOINTS as ReadingEndpoint<unknown>[]) {
    app.get(
      path,
      { schema: { tags: ['data'], summary, security: SECURITY, querystring: samplesQuery, response: { 200: listSchema(item, list), ...authErrors } } },
      async (request) => {
        const { start, end, source } = request.query;
        const page = await readings.list(reading, principalOf(request).userId, { start, end, source }, pageRequest(request.query, reading.key));
        return listOf(page, view);
      },
    );
  }

  app.get(
    '/data/ecg/:id',
    {
      schema: {
        tags: ['data'],
        summary: 'One ECG recording with its voltages',
        security: SECURITY,
        params: ecgParam,
        response: { 200: ecgDetail, ...authErrors, 404: errorResponse('NOT_FOUND', "No such recording, or another user's (the same answer)", 'ecg recording not found') },
      },
    },
    async (request) => {
      const row = await readings.ecg(principalOf(request).userId, request.params.id);
      if (!row) throw notFound('ecg recording');
      return ecgDetailView(row);
    },
  );
};

export default readingRoutes;
