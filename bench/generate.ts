/**
 * Seeded generator of realistic Health Auto Export payloads of a chosen size:
 * per-minute heart rate with Min/Avg/Max, steps from two sources, active and
 * basal energy in kJ or kcal, distance in miles or km, respiratory rate, SpO2,
 * and for every morning the window covers a blood pressure, raw sleep segments
 * and a summarised night; workouts with routes. `metrics` keeps only some of
 * them. The same options give the same payload; generated payloads are never
 * committed.
 */

export interface GenerateOptions {
  /** Samples (points) to produce, approximately: the result says exactly. */
  samples: number;
  seed?: number;
  /** First minute of the data (UTC ms); defaults to 2024-01-01. */
  start?: number;
  /** Offset written into every date, e.g. '-0500'. */
  offset?: string;
  /** Unit of active and basal energy, as the user picked it on the phone. */
  energyUnit?: 'kJ' | 'kcal';
  /** Unit of walking/running and workout distance. */
  distanceUnit?: 'mi' | 'km';
  /** Workouts (each one sample); by default 1 per 20,000 samples, at most 20, none below 1,000. */
  workouts?: number;
  routePoints?: number;
  /** Only these metrics (HAE names, e.g. ['heart_rate', 'step_count']), the window sized for them; all by default. Workouts are set by `workouts`. */
  metrics?: readonly string[];
}

export interface Generated {
  payload: { data: { metrics: unknown[]; workouts: unknown[] } };
  /** Points generated, i.e. what `counts.received` must be. */
  samples: number;
}

/** mulberry32: small, fast, good enough for test data. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

export function haeDate(ms: number, offset = '+0000'): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5)));
  const d = new Date(ms + minutes * 60_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${offset}`;
}

const WATCH = 'Sam’s Apple\u00a0Watch';
const PHONE = 'Sam’s iPhone';
const MINUTE = 60_000;
const DAY = 86_400_000;
const KJ_PER_KCAL = 4.184;
const KM_PER_MILE = 1.609344;
/** Samples per minute of each per-minute series (see the shares below). */
const PER_MINUTE: Record<string, number> = {
  heart_rate: 1,
  step_count: 1.5,
  active_energy: 1,
  basal_energy_burned: 1,
  walking_running_distance: 1,
  respiratory_rate: 0.1,
  blood_oxygen_saturation: 0.1,
};
/** Samples per morning: a blood pressure, 13 sleep segments and a night. */
const PER_MORNING: Record<string, number> = { blood_pressure: 1, sleep_analysis: 14 };
const MORNING_HOUR = 7;

const keeps = (metrics: readonly string[] | undefined) => (name: string) => metrics === undefined || metrics.includes(name);

/** Samples per minute and per morning of the metrics kept (all when `metrics` is absent). */
export function ratesOf(metrics?: readonly string[]): { perMinute: number; perMorning: number } {
  const kept = keeps(metrics);
  // Rounded to a tenth, as the shares are: a sum of floats is not exact.
  const rate = (shares: Record<string, number>) => Math.round(Object.entries(shares).reduce((sum, [name, share]) => sum + (kept(name) ? share : 0), 0) * 10) / 10;
  return { perMinute: rate(PER_MINUTE), perMorning: rate(PER_MORNING) };
}

/** Mornings (07:00 UTC) inside [start, start + minutes). */
function morningsIn(start: number, minutes: number): number[] {
  const mornings: number[] = [];
  let morning = Math.floor(start / DAY) * DAY + MORNING_HOUR * 3_600_000;
  if (morning < start) morning += DAY;
  for (; morning < start + minutes * MINUTE; morning += DAY) mornings.push(morning);
  return mornings;
}

export function generateHaePayload(options: GenerateOptions): Generated {
  const seed = options.seed ?? 1;
  const rand = random(seed);
  const offset = options.offset ?? '+0000';
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const energyFactor = options.energyUnit === 'kcal' ? 1 : KJ_PER_KCAL;
  const energyUnit = options.energyUnit ?? 'kJ';
  const distanceFactor = options.distanceUnit === 'km' ? KM_PER_MILE : 1;
  const distanceUnit = options.distanceUnit ?? 'mi';
  const date = (ms: number) => haeDate(ms, offset);
  const workoutCount =
    options.workouts ?? (options.samples < 1000 ? 0 : Math.min(20, Math.max(1, Math.floor(options.samples / 20_000))));
  const routePoints = options.routePoints ?? 300;
  const kept = keeps(options.metrics);
  const { perMinute, perMorning } = ratesOf(options.metrics);
  if (perMinute + perMorning === 0) throw new Error(`none of the metrics ${JSON.stringify(options.metrics)} is generated`);

  // The window in minutes: the per-minute series plus what each morning in it adds.
  const wanted = Math.max(1, options.samples - workoutCount);
  let minutes = Math.max(1, Math.ceil(wanted / (perMinute + perMorning / 1440)));
  while (minutes > 1 && minutes * perMinute + morningsIn(start, minutes).length * perMorning > wanted + perMinute) minutes -= 1;
  while (Math.floor(minutes * perMinute) + morningsIn(start, minutes).length * perMorning < wanted) minutes += 1;

  const metrics: { name: string; units: string; data: unknown[] }[] = [];
  const series = (name: string, units: string, count: number, point: (ms: number) => Record<string, unknown>) => {
    if (!kept(name)) return;
    const data: unknown[] = [];
    for (let i = 0; i < count; i++) data.push(point(start + i * MINUTE));
    metrics.push({ name, units, data });
  };

  // Per minute: heart rate, watch steps, active and basal energy, distance (1 each),
  // phone steps (1/2), respiratory rate and SpO2 (1/10 each).
  series('heart_rate', 'count/min', minutes, (ms) => {
    const avg = 55 + Math.round(rand() * 60);
    return { date: date(ms), Min: avg - Math.round(rand() * 8), Avg: avg, Max: avg + Math.round(rand() * 12), source: WATCH };
  });
  series('step_count', 'count', minutes, (ms) => ({ date: date(ms), qty: Math.round(rand() * 120), source: WATCH }));
  series('step_count', 'count', Math.ceil(minutes / 2), (ms) => ({ date: date(ms), qty: Math.round(rand() * 110), source: PHONE }));
  series('active_energy', energyUnit, minutes, (ms) => ({ date: date(ms), qty: rand() * 10 * energyFactor, source: WATCH }));
  series('basal_energy_burned', energyUnit, minutes, (ms) => ({ date: date(ms), qty: (1 + rand() * 0.3) * energyFactor, source: WATCH }));
  series('walking_running_distance', distanceUnit, minutes, (ms) => ({ date: date(ms), qty: rand() * 0.08 * distanceFactor, source: WATCH }));
  series('respiratory_rate', 'count/min', Math.ceil(minutes / 10), (ms) => ({ date: date(ms), qty: 12 + rand() * 6 }));
  series('blood_oxygen_saturation', '%', Math.ceil(minutes / 10), (ms) => ({ date: date(ms), qty: 94 + Math.round(rand() * 6) }));

  const bp: unknown[] = [];
  const segments: unknown[] = [];
  const nights: unknown[] = [];
  const stages = ['Core', 'Deep', 'REM', 'Awake'];
  for (const morning of perMorning > 0 ? morningsIn(start, minutes) : []) {
    const systolic = 105 + Math.round(rand() * 30);
    bp.push({ date: date(morning), systolic, diastolic: systolic - 35 - Math.round(rand() * 10), source: 'Withings' });
    let t = morning - 8 * 3_600_000;
    segments.push({ startDate: date(t), endDate: date(t + 8 * 3_600_000), qty: 8, value: 'InBed', source: WATCH });
    for (let s = 0; s < 12; s++) {
      const length = 20 + Math.round(rand() * 20);
      segments.push({ startDate: date(t), endDate: date(t + length * MINUTE), qty: length / 60, value: stages[s % 4], source: WATCH });
      t += length * MINUTE;
    }
    nights.push({
      date: date(morning).slice(0, 10),
      totalSleep: 7,
      asleep: 0,
      core: 4,
      deep: 1.5,
      rem: 1.5,
      awake: 0.3,
      inBed: 7.5,
      sleepStart: date(morning - 8 * 3_600_000),
      sleepEnd: date(morning),
      source: WATCH,
    });
  }
  if (bp.length > 0) {
    if (kept('blood_pressure')) metrics.push({ name: 'blood_pressure', units: 'mmHg', data: bp });
    if (kept('sleep_analysis')) metrics.push({ name: 'sleep_analysis', units: 'hr', data: segments }, { name: 'sleep_analysis', units: 'hr', data: nights });
  }

  const workouts: unknown[] = [];
  for (let w = 0; w < workoutCount; w++) {
    const begin = start + w * DAY + 18 * 3_600_000;
    const route = [];
    let lat = 47.6 + rand() * 0.1;
    let lon = -122.3 + rand() * 0.1;
    for (let p = 0; p < routePoints; p++) {
      lat += (rand() - 0.5) * 0.0005;
      lon += (rand() - 0.5) * 0.0005;
      route.push({ latitude: lat, longitude: lon, altitude: 30 + rand() * 10, speed: 2.5 + rand(), course: rand() * 360, horizontalAccuracy: 4, verticalAccuracy: 3, timestamp: date(begin + p * 3000) });
    }
    const id = `00000000-0000-4000-8000-${String(seed % 10_000).padStart(4, '0')}${String(w).padStart(8, '0')}`;
    workouts.push({
      id,
      name: 'Outdoor Run',
      start: date(begin),
      end: date(begin + 30 * MINUTE),
      duration: 1800,
      location: 'Outdoor',
      isIndoor: false,
      activeEnergyBurned: { qty: (330 + rand() * 50) * energyFactor, units: energyUnit },
      distance: { qty: (3 + rand()) * distanceFactor, units: distanceUnit },
      heartRateData: Array.from({ length: 30 }, (_, i) => ({ date: date(begin + i * MINUTE), Min: 120, Avg: 135, Max: 150, units: 'count/min', source: WATCH })),
      route,
    });
  }

  const samples = metrics.reduce((sum, metric) => sum + metric.data.length, 0) + workouts.length;
  return { payload: { data: { metrics, workouts } }, samples };
}
