/**
 * The HAE `workouts` array (hae-format.md section 5), both export versions.
 *
 * A workout is one sample: its route and series points belong to it, so one
 * unusable point (no date, latitude 95, heart rate 400) rejects the whole
 * workout with a reason naming the point, and nothing is dropped silently.
 *
 * Units: summary columns are canonical (seconds, metres, kcal, bpm). Series
 * points keep the unit they were sent in, except energy series (kcal) and
 * distance series (m), which are converted like the summary columns so a
 * workout's series can be summed against its summary. A unit the table does
 * not know is never a reason to lose a workout: the summary column stays null
 * (the value is in `original`) and a series point keeps its value and unit.
 */
import { convertUnit } from '../units.js';
import { checkWorkout } from '../plausibility.js';
import type { ParseContext, ParsedItem, RoutePoint, SeriesPoint, WorkoutRecord } from '../records.js';
import {
  Problem,
  checkOrder,
  isObject,
  isProblem,
  readNumber,
  readOptionalNumber,
  readOptionalString,
  readOptionalTime,
  readSource,
  readTime,
  type Read,
} from '../sample-fields.js';

const TYPE = 'workouts';

/** Series arrays a workout may carry; `stepCount` and `activeEnergy` are summaries in v1 (objects) and series in v2 (arrays). */
const SERIES_NAMES = [
  'heartRateData',
  'heartRateRecovery',
  'activeEnergy',
  'basalEnergy',
  'stepCount',
  'walkingAndRunningDistance',
  'cyclingCadence',
  'cyclingDistance',
  'cyclingPower',
  'cyclingSpeed',
  'swimDistance',
  'swimStroke',
] as const;
const SERIES = new Set<string>(SERIES_NAMES);

const BPM = 'count/min';

/**
 * Series stored in a canonical unit rather than as sent. Heart rate: version 1 sends
 * `bpm`, version 2 `count/min`, one unit under two names, stored as count/min so a
 * reader never has to know both (migration 062 renamed the rows stored before).
 */
const SERIES_CANONICAL_UNIT: Readonly<Record<string, string>> = {
  heartRateData: BPM,
  heartRateRecovery: BPM,
  activeEnergy: 'kcal',
  basalEnergy: 'kcal',
  walkingAndRunningDistance: 'm',
  cyclingDistance: 'm',
  swimDistance: 'm',
};

/** `first`: the index of `workouts[0]` in the upload, when this is a slice of it. */
export function* parseHaeWorkouts(workouts: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  if (workouts === undefined || workouts === null) return;
  if (!Array.isArray(workouts)) {
    yield reject(`data.workouts must be an array, got ${typeof workouts}`, 'format', workouts);
    return;
  }
  for (let i = 0; i < workouts.length; i++) {
    const workout: unknown = workouts[i];
    const parsed = parseWorkout(workout, ctx);
    if (isProblem(parsed)) {
      const name = isObject(workout) && typeof workout.name === 'string' ? ` (${workout.name})` : '';
      yield reject(`workouts[${first + i}]${name}: ${parsed.reason}`, parsed.category, workout);
    } else {
      yield { ok: true, record: parsed };
    }
  }
}

function reject(reason: string, category: Problem['category'], sample: unknown): ParsedItem {
  return { ok: false, rejection: { type: TYPE, reason, category, sample } };
}

function parseWorkout(workout: unknown, ctx: ParseContext): Read<WorkoutRecord> {
  if (!isObject(workout)) return new Problem('format', 'a workout must be an object');

  const start = readTime(workout, 'start', ctx);
  if (isProblem(start)) return start;
  const sentEnd = readOptionalTime(workout, 'end', ctx);
  if (isProblem(sentEnd)) return sentEnd;
  const end = checkOrder(start.instant, sentEnd?.instant ?? null);
  if (isProblem(end)) return end;

  const name = readOptionalString(workout, 'name');
  const workoutKey = readWorkoutKey(workout, name, start.instant);
  if (isProblem(workoutKey)) return workoutKey;

  const durationS = readDuration(workout, start.instant, sentEnd === null ? null : end);
  if (isProblem(durationS)) return durationS;
  const distanceM = readQuantity(workout, 'distance', 'm');
  if (isProblem(distanceM)) return distanceM;
  // v2 `activeEnergyBurned`; v1 `activeEnergy` (an object: in v2 an array of that name is a series).
  const activeEnergyKcal =
    workout.activeEnergyBurned !== undefined
      ? readQuantity(workout, 'activeEnergyBurned', 'kcal')
      : Array.isArray(workout.activeEnergy)
        ? null
        : readQuantity(workout, 'activeEnergy', 'kcal');
  if (isProblem(activeEnergyKcal)) return activeEnergyKcal;
  const totalEnergyKcal = readQuantity(workout, 'totalEnergy', 'kcal');
  if (isProblem(totalEnergyKcal)) return totalEnergyKcal;
  const heartRate = readHeartRateSummary(workout);
  if (isProblem(heartRate)) return heartRate;

  const route = readRoute(workout.route, ctx);
  if (isProblem(route)) return route;
  const series = readSeries(workout, ctx);
  if (isProblem(series)) return series;

  const record: WorkoutRecord = {
    kind: 'workout',
    type: TYPE,
    start: start.instant,
    end,
    source: '',
    raw: workout,
    workoutKey,
    name: name ?? '',
    durationS,
    distanceM,
    activeEnergyKcal,
    totalEnergyKcal,
    location: readOptionalString(workout, 'location'),
    isIndoor: typeof workout.isIndoor === 'boolean' ? workout.isIndoor : null,
    minHeartRate: heartRate.min,
    avgHeartRate: heartRate.avg,
    maxHeartRate: heartRate.max,
    original: withoutRouteAndSeries(workout),
    route,
    series,
  };
  return checkWorkout(record, ctx) ?? record;
}

/** v2: the app's id, upper-cased (UUIDs are case-insensitive); v1: name + start, so a re-send is the same workout. */
function readWorkoutKey(workout: Record<string, unknown>, name: string | null, start: Date): Read<string> {
  const id = workout.id;
  if (typeof id === 'string' && id.trim() !== '') return id.trim().toUpperCase();
  if (id !== undefined && id !== null && id !== '') return new Problem('format', `id must be a string, got ${typeof id}`);
  if (name === null) {
    return new Problem('missing_field', 'name is missing (a workout without an id is identified by name and start)');
  }
  return `v1:${name}|${start.toISOString()}`;
}

/** v2 sends `duration` in seconds; otherwise end minus start, or null when no end was sent. */
function readDuration(workout: Record<string, unknown>, start: Date, end: Date | null): Read<number | null> {
  if (isObject(workout.duration)) return readQuantity(workout, 'duration', 's');
  const sent = readOptionalNumber(workout, 'duration');
  if (sent !== null) return sent;
  return end === null ? null : (end.getTime() - start.getTime()) / 1000;
}

/**
 * A `{qty, units}` object converted to `toUnit`; null when absent. A bare
 * number is accepted only where its unit is known (`bareUnit`): the unit is
 * never guessed from the field's name. A unit the table does not know (or one
 * of another dimension) leaves the summary column null rather than rejecting
 * the workout: the value stays in `original`, as sent.
 */
function readQuantity(
  holder: Record<string, unknown>,
  field: string,
  toUnit: string,
  bareUnit: string | null = null,
): Read<number | null> {
  const value = holder[field];
  if (value === undefined || value === null) return null;
  if (bareUnit !== null && (typeof value === 'number' || typeof value === 'string')) {
    const bare = readNumber(holder, field);
    return isProblem(bare) ? bare : convertUnit(bare, bareUnit, toUnit);
  }
  if (!isObject(value)) return new Problem('format', `${field} must be a {qty, units} object, got ${typeof value}`);
  const qty = readNumber(value, 'qty');
  if (isProblem(qty)) return new Problem(qty.category, `${field}.${qty.reason}`);
  const units = readOptionalString(value, 'units') ?? bareUnit;
  return units === null ? null : convertUnit(qty, units, toUnit);
}

interface HeartRateSummary {
  min: number | null;
  avg: number | null;
  max: number | null;
}

/** v2 `heartRate: {min, avg, max}` (members `{qty, units}` or bare numbers), else `avgHeartRate` / `maxHeartRate`. */
function readHeartRateSummary(workout: Record<string, unknown>): Read<HeartRateSummary> {
  let min: Read<number | null> = null;
  let avg: Read<number | null> = null;
  let max: Read<number | null> = null;
  const heartRate = workout.heartRate;
  if (isObject(heartRate)) {
    min = readQuantity(heartRate, 'min', BPM, BPM);
    if (isProblem(min)) return within('heartRate', min);
    avg = readQuantity(heartRate, 'avg', BPM, BPM);
    if (isProblem(avg)) return within('heartRate', avg);
    max = readQuantity(heartRate, 'max', BPM, BPM);
    if (isProblem(max)) return within('heartRate', max);
  } else if (heartRate !== undefined && heartRate !== null) {
    return new Problem('format', `heartRate must be an object {min, avg, max}, got ${typeof heartRate}`);
  }
  if (avg === null) avg = readQuantity(workout, 'avgHeartRate', BPM, BPM);
  if (isProblem(avg)) return avg;
  if (max === null) max = readQuantity(workout, 'maxHeartRate', BPM, BPM);
  if (isProblem(max)) return max;
  return { min, avg, max };
}

function withoutRouteAndSeries(workout: Record<string, unknown>): Record<string, unknown> {
  const original: Record<string, unknown> = {};
  for (const key of Object.keys(workout)) {
    if (key === 'route' || (SERIES.has(key) && Array.isArray(workout[key]))) continue;
    original[key] = workout[key];
  }
  return original;
}

/** v2 `latitude`/`longitude`, v1 `lat`/`lon`; -1 (Apple's "invalid") and other negative speed, course and accuracies become null. */
function readRoute(route: unknown, ctx: ParseContext): Read<RoutePoint[]> {
  if (route === undefined || route === null) return [];
  if (!Array.isArray(route)) return new Problem('format', `route must be an array, got ${typeof route}`);
  const points: RoutePoint[] = new Array<RoutePoint>(route.length);
  for (let i = 0; i < route.length; i++) {
    const point: unknown = route[i];
    const at = `route[${i}]`;
    if (!isObject(point)) return new Problem('format', `${at} must be an object`);
    const lat = readCoordinate(point, 'latitude', 'lat');
    if (isProblem(lat)) return within(at, lat);
    const lon = readCoordinate(point, 'longitude', 'lon');
    if (isProblem(lon)) return within(at, lon);
    const time = readTime(point, 'timestamp', ctx);
    if (isProblem(time)) return within(at, time);
    const altitude = readOptionalNumber(point, 'altitude');
    if (isProblem(altitude)) return within(at, altitude);
    const speed = readValidity(point, 'speed');
    if (isProblem(speed)) return within(at, speed);
    const course = readValidity(point, 'course');
    if (isProblem(course)) return within(at, course);
    const horizontalAccuracy = readValidity(point, 'horizontalAccuracy');
    if (isProblem(horizontalAccuracy)) return within(at, horizontalAccuracy);
    const verticalAccuracy = readValidity(point, 'verticalAccuracy');
    if (isProblem(verticalAccuracy)) return within(at, verticalAccuracy);
    points[i] = { time: time.instant, lat, lon, altitude, speed, course, horizontalAccuracy, verticalAccuracy };
  }
  return points;
}

function readCoordinate(point: Record<string, unknown>, long: string, short: string): Read<number> {
  if (point[long] !== undefined && point[long] !== null) return readNumber(point, long);
  if (point[short] !== undefined && point[short] !== null) return readNumber(point, short);
  return new Problem('missing_field', `${long} (or ${short}) is missing`);
}

/** Apple writes a negative value (-1) for "invalid"; stored as null. */
function readValidity(point: Record<string, unknown>, field: string): Read<number | null> {
  const value = readOptionalNumber(point, field);
  return typeof value === 'number' && value < 0 ? null : value;
}

function readSeries(workout: Record<string, unknown>, ctx: ParseContext): Read<SeriesPoint[]> {
  const points: SeriesPoint[] = [];
  for (const name of SERIES_NAMES) {
    const sent = workout[name];
    if (!Array.isArray(sent)) continue;
    const canonicalUnit = SERIES_CANONICAL_UNIT[name];
    for (let i = 0; i < sent.length; i++) {
      const sample: unknown = sent[i];
      if (!isObject(sample)) return new Problem('format', `${name}[${i}] must be an object`);
      const point = readSeriesPoint(name, sample, canonicalUnit, ctx);
      if (isProblem(point)) return within(`${name}[${i}]`, point);
      points.push(point);
    }
  }
  return points;
}

/** v2 heart rate `{date, Min, Avg, Max, units, source}`; everything else (and v1 heart rate) `{date, qty, units, source?}`. */
function readSeriesPoint(
  series: string,
  point: Record<string, unknown>,
  canonicalUnit: string | undefined,
  ctx: ParseContext,
): Read<SeriesPoint> {
  const time = readTime(point, 'date', ctx);
  if (isProblem(time)) return time;
  let unit = readOptionalString(point, 'units');
  let min: Read<number | null> = null;
  let avg: Read<number | null> = null;
  let max: Read<number | null> = null;
  let qty: Read<number | null>;
  if (point.Min !== undefined || point.Avg !== undefined || point.Max !== undefined) {
    min = readNumber(point, 'Min');
    if (isProblem(min)) return min;
    avg = readNumber(point, 'Avg');
    if (isProblem(avg)) return avg;
    max = readNumber(point, 'Max');
    if (isProblem(max)) return max;
    qty = readOptionalNumber(point, 'qty');
  } else {
    qty = readNumber(point, 'qty');
  }
  if (isProblem(qty)) return qty;
  // Every value of the point in the canonical unit, or (a unit the table cannot convert)
  // every value kept as sent, with its unit.
  if (canonicalUnit !== undefined && unit !== null && convertUnit(1, unit, canonicalUnit) !== null) {
    const convert = (value: number | null) => (value === null ? null : convertUnit(value, unit!, canonicalUnit));
    [qty, min, avg, max] = [convert(qty), convert(min), convert(avg), convert(max)];
    unit = canonicalUnit;
  }
  return { series, time: time.instant, qty, min, avg, max, unit, source: readSource(point.source) };
}

function within(at: string, problem: Problem): Problem {
  return new Problem(problem.category, `${at}.${problem.reason}`);
}
