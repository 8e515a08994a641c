/**
 * export.xml's `Workout` elements and the GPX routes they reference. A workout
 * has no HealthKit UUID in the export: it is identified by its activity and
 * start (`apple:<activity>|<start>`), and one the app already sent (same
 * activity, start and end within a second) is written onto that workout
 * instead (storage/samples/workouts.ts). Summary columns are canonical (s, m,
 * kcal, bpm) as for the app's workouts; statistics, events and metadata stay in
 * `original`.
 */
import { SaxesParser } from 'saxes';
import { checkWorkout } from '../plausibility.js';
import type { ParseContext, ParsedItem, RoutePoint, WorkoutRecord } from '../records.js';
import { isProblem, readTime } from '../sample-fields.js';
import { convertUnit } from '../units.js';
import { metadataOf, readInterval, rejected } from './samples.js';
import { activityName, appWorkoutNames } from './types.js';
import type { XmlElement } from './xml.js';

const TYPE = 'workouts';
/** Routes found in the upload whose workout is not in export.xml: stored, and counted apart. */
export const ORPHAN_ROUTE_TYPE = 'workout_routes';

const DISTANCE_STATISTICS = [
  'HKQuantityTypeIdentifierDistanceWalkingRunning',
  'HKQuantityTypeIdentifierDistanceCycling',
  'HKQuantityTypeIdentifierDistanceSwimming',
  'HKQuantityTypeIdentifierDistanceWheelchair',
  'HKQuantityTypeIdentifierDistanceDownhillSnowSports',
];

export interface ParsedWorkout {
  record: WorkoutRecord;
  /** The GPX file its WorkoutRoute names, as a path inside apple_health_export/ (`workout-routes/route_….gpx`). */
  routeFile: string | null;
}

/** A Workout element as a record without its route; a rejection when its times are unusable. */
export function parseWorkout(element: XmlElement, ctx: ParseContext): ParsedWorkout | ParsedItem {
  const a = element.attributes;
  const activity = a.workoutActivityType ?? '';
  const times = readInterval(a, ctx);
  if (isProblem(times)) return rejected(TYPE, `Workout ${activity} at ${a.startDate ?? '?'}: ${times.reason}`, times.category, element);

  const statistics: Record<string, Record<string, unknown>> = {};
  const events: Record<string, unknown>[] = [];
  let routeFile: string | null = null;
  for (const child of element.children) {
    if (child.name === 'WorkoutStatistics' && child.attributes.type) statistics[child.attributes.type] = numbers(child.attributes);
    else if (child.name === 'WorkoutEvent') events.push({ ...numbers(child.attributes), ...(metadataOf(child) ? { metadata: metadataOf(child) } : {}) });
    else if (child.name === 'WorkoutRoute') {
      const file = child.children.find((c) => c.name === 'FileReference')?.attributes.path;
      if (file) routeFile = file.replace(/^\/+/, '');
    }
  }
  const stat = (type: string) => statistics[`HKQuantityTypeIdentifier${type}`];
  const metadata = metadataOf(element);
  const heartRate = stat('HeartRate');
  const active = convertStat(stat('ActiveEnergyBurned'), 'sum', 'kcal') ?? convertAttr(a.totalEnergyBurned, a.totalEnergyBurnedUnit, 'kcal');
  const basal = convertStat(stat('BasalEnergyBurned'), 'sum', 'kcal');
  const distance =
    convertAttr(a.totalDistance, a.totalDistanceUnit, 'm') ??
    DISTANCE_STATISTICS.map((type) => convertStat(statistics[type], 'sum', 'm')).find((value) => value !== null) ??
    null;
  const indoor = metadata?.HKIndoorWorkout;

  const { device: _device, ...kept } = a;
  const record: WorkoutRecord = {
    kind: 'workout',
    type: TYPE,
    start: times.start,
    end: times.end,
    source: '',
    raw: element,
    workoutKey: `apple:${activity}|${times.start.toISOString()}`,
    name: activityName(activity),
    durationS: convertAttr(a.duration, a.durationUnit, 's') ?? (times.end.getTime() - times.start.getTime()) / 1000,
    distanceM: distance,
    activeEnergyKcal: active,
    totalEnergyKcal: active !== null && basal !== null ? active + basal : null,
    location: null,
    isIndoor: indoor === '1' ? true : indoor === '0' ? false : null,
    minHeartRate: convertStat(heartRate, 'minimum', 'count/min'),
    avgHeartRate: convertStat(heartRate, 'average', 'count/min'),
    maxHeartRate: convertStat(heartRate, 'maximum', 'count/min'),
    original: {
      ...numbers(kept),
      ...(metadata ? { metadata } : {}),
      ...(Object.keys(statistics).length > 0 ? { statistics } : {}),
      ...(events.length > 0 ? { events } : {}),
      ...(routeFile ? { routeFile } : {}),
    },
    route: [],
    series: [],
    appNames: appWorkoutNames(activity),
  };
  return { record, routeFile };
}

export function isParsedWorkout(value: ParsedWorkout | ParsedItem): value is ParsedWorkout {
  return 'routeFile' in value;
}

/** The workout checked as the app's are (plausibility.ts), once its route is attached. */
export function finishWorkout(workout: WorkoutRecord, ctx: ParseContext): ParsedItem {
  const problem = checkWorkout(workout, ctx);
  if (problem) {
    return { ok: false, rejection: { type: workout.type, reason: `Workout ${workout.name} at ${workout.start.toISOString()}: ${problem.reason}`, category: problem.category, sample: workout.original } };
  }
  return { ok: true, record: workout };
}

/**
 * A route no workout references: kept as a workout of its own (`workout_routes` in the
 * counts), spanning its first to its last point, identified by its file name.
 */
export function orphanRoute(file: string, route: RoutePoint[]): ParsedItem {
  if (route.length === 0) {
    return { ok: false, rejection: { type: ORPHAN_ROUTE_TYPE, reason: `${file}: a route with no points and no workout in export.xml`, category: 'missing_field', sample: { file } } };
  }
  const record: WorkoutRecord = {
    kind: 'workout',
    type: ORPHAN_ROUTE_TYPE,
    start: route[0]!.time,
    end: route[route.length - 1]!.time,
    source: '',
    raw: { file },
    workoutKey: `apple-route:${file}`,
    name: '',
    durationS: (route[route.length - 1]!.time.getTime() - route[0]!.time.getTime()) / 1000,
    distanceM: null,
    activeEnergyKcal: null,
    totalEnergyKcal: null,
    location: null,
    isIndoor: null,
    minHeartRate: null,
    avgHeartRate: null,
    maxHeartRate: null,
    original: { routeFile: file, note: 'a route in the export whose workout is not in export.xml' },
    route,
    series: [],
  };
  return { ok: true, record };
}

/**
 * A GPX file's track points. Apple writes `<trkpt lat lon><ele/><time/><extensions>
 * <speed/><course/><hAcc/><vAcc/></extensions></trkpt>`; negative speed, course and
 * accuracies are Apple's "invalid" and become null, as in the app's routes.
 * Returns the reason when the file is unusable.
 */
export async function readGpx(bytes: AsyncIterable<Buffer>, ctx: ParseContext): Promise<RoutePoint[] | string> {
  const parser = new SaxesParser({ xmlns: false, position: false });
  const decoder = new TextDecoder('utf-8');
  const points: RoutePoint[] = [];
  let point: Record<string, string> | null = null;
  let field: string | null = null;
  let text = '';
  let problem: string | null = null;
  parser.on('opentag', (tag) => {
    if (tag.name === 'trkpt') {
      point = { lat: String(tag.attributes.lat), lon: String(tag.attributes.lon) };
    } else if (point) {
      field = tag.name;
      text = '';
    }
  });
  parser.on('text', (value) => {
    if (field) text += value;
  });
  parser.on('closetag', (tag) => {
    if (tag.name === 'trkpt' && point) {
      const read = routePoint(point, points.length, ctx);
      if (typeof read === 'string') problem ??= read;
      else points.push(read);
      point = null;
    } else if (point && field === tag.name) {
      point[field] = text.trim();
      field = null;
    }
  });
  parser.on('error', (error) => {
    problem ??= `not well-formed XML: ${error.message}`;
  });
  for await (const chunk of bytes) {
    parser.write(decoder.decode(chunk, { stream: true }));
    if (problem) return problem;
  }
  parser.write(decoder.decode());
  parser.close();
  return problem ?? points;
}

function routePoint(point: Record<string, string>, index: number, ctx: ParseContext): RoutePoint | string {
  const at = `trkpt[${index}]`;
  const lat = Number(point.lat);
  const lon = Number(point.lon);
  if (point.lat === 'undefined' || point.lon === 'undefined' || !Number.isFinite(lat) || !Number.isFinite(lon)) return `${at} has no usable lat and lon`;
  const time = readTime(point, 'time', ctx);
  if (isProblem(time)) return `${at}.${time.reason}`;
  return {
    time: time.instant,
    lat,
    lon,
    altitude: optional(point.ele),
    speed: validity(point.speed),
    course: validity(point.course),
    horizontalAccuracy: validity(point.hAcc),
    verticalAccuracy: validity(point.vAcc),
  };
}

function optional(value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

function validity(value: string | undefined): number | null {
  const number = optional(value);
  return number !== null && number < 0 ? null : number;
}

function convertAttr(value: string | undefined, unit: string | undefined, to: string): number | null {
  if (value === undefined || unit === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? convertUnit(number, unit, to) : null;
}

function convertStat(statistic: Record<string, unknown> | undefined, field: string, to: string): number | null {
  const value = statistic?.[field];
  return typeof value === 'number' && typeof statistic?.unit === 'string' ? convertUnit(value, statistic.unit, to) : null;
}

/** Attributes with numeric text as numbers, so `original` reads like the app's JSON. */
function numbers(attributes: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) {
    const number = Number(value);
    out[key] = value !== '' && /^[-+]?[\d.]+(e[-+]?\d+)?$/i.test(value) && Number.isFinite(number) ? number : value;
  }
  return out;
}
