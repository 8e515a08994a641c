/**
 * Seeded generator of realistic Health Auto Export payloads of a chosen size:
 * per-minute heart rate with Min/Avg/Max, steps from two sources, energy in kJ
 * and kcal, distance in miles, respiratory rate, SpO2, blood pressure, raw sleep
 * segments and summarised nights, and workouts with routes. The same seed gives
 * the same payload; generated payloads are never committed.
 */

export interface GenerateOptions {
  /** Samples (points) to produce, approximately: the result says exactly. */
  samples: number;
  seed?: number;
  /** First minute of the data (UTC ms); defaults to 2024-01-01. */
  start?: number;
  /** Offset written into every date, e.g. '-0500'. */
  offset?: string;
  workouts?: number;
  routePoints?: number;
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

export function generateHaePayload(options: GenerateOptions): Generated {
  const rand = random(options.seed ?? 1);
  const offset = options.offset ?? '+0000';
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const date = (ms: number) => haeDate(ms, offset);
  const workoutCount = options.workouts ?? Math.min(20, Math.max(1, Math.floor(options.samples / 20_000)));
  const routePoints = options.routePoints ?? 300;

  // Shares of the per-minute series; everything else is small and fixed per day.
  // Per minute: heart rate, watch steps, active and basal energy, distance (1 each), phone steps (1/2),
  // respiratory rate and SpO2 (1/10 each); per day: a blood pressure, 13 sleep segments and a night.
  const perMinute = Math.max(1, Math.ceil((options.samples - workoutCount) / (5.7 + 15 / 1440)) + 20);
  const days = Math.max(1, Math.ceil(perMinute / 1440));
  const metrics: { name: string; units: string; data: unknown[] }[] = [];
  const series = (name: string, units: string, count: number, point: (ms: number, i: number) => Record<string, unknown>) => {
    const data: unknown[] = [];
    for (let i = 0; i < count; i++) data.push(point(start + i * 60_000, i));
    metrics.push({ name, units, data });
  };

  series('heart_rate', 'count/min', perMinute, (ms) => {
    const avg = 55 + Math.round(rand() * 60);
    return { date: date(ms), Min: avg - Math.round(rand() * 8), Avg: avg, Max: avg + Math.round(rand() * 12), source: WATCH };
  });
  series('step_count', 'count', perMinute, (ms) => ({ date: date(ms), qty: Math.round(rand() * 120), source: WATCH }));
  series('step_count', 'count', Math.floor(perMinute / 2), (ms) => ({ date: date(ms), qty: Math.round(rand() * 110), source: PHONE }));
  series('active_energy', 'kJ', perMinute, (ms) => ({ date: date(ms), qty: rand() * 40, source: WATCH }));
  series('basal_energy_burned', 'kcal', perMinute, (ms) => ({ date: date(ms), qty: 1 + rand() * 0.3, source: WATCH }));
  series('walking_running_distance', 'mi', perMinute, (ms) => ({ date: date(ms), qty: rand() * 0.08, source: WATCH }));
  series('respiratory_rate', 'count/min', Math.floor(perMinute / 10), (ms) => ({ date: date(ms * 1), qty: 12 + rand() * 6 }));
  series('blood_oxygen_saturation', '%', Math.floor(perMinute / 10), (ms) => ({ date: date(ms), qty: 94 + Math.round(rand() * 6) }));

  const bp: unknown[] = [];
  const segments: unknown[] = [];
  const nights: unknown[] = [];
  const stages = ['Core', 'Deep', 'REM', 'Awake'];
  for (let day = 0; day < days; day++) {
    const morning = start + day * 86_400_000 + 7 * 3_600_000;
    const systolic = 105 + Math.round(rand() * 30);
    bp.push({ date: date(morning), systolic, diastolic: systolic - 35 - Math.round(rand() * 10), source: 'Withings' });
    let t = morning - 8 * 3_600_000;
    segments.push({ startDate: date(t), endDate: date(t + 8 * 3_600_000), qty: 8, value: 'InBed', source: WATCH });
    for (let s = 0; s < 12; s++) {
      const minutes = 20 + Math.round(rand() * 20);
      segments.push({ startDate: date(t), endDate: date(t + minutes * 60_000), qty: minutes / 60, value: stages[s % 4], source: WATCH });
      t += minutes * 60_000;
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
  metrics.push({ name: 'blood_pressure', units: 'mmHg', data: bp });
  metrics.push({ name: 'sleep_analysis', units: 'hr', data: segments });
  metrics.push({ name: 'sleep_analysis', units: 'hr', data: nights });

  const workouts: unknown[] = [];
  for (let w = 0; w < workoutCount; w++) {
    const begin = start + w * 86_400_000 + 18 * 3_600_000;
    const route = [];
    let lat = 47.6 + rand() * 0.1;
    let lon = -122.3 + rand() * 0.1;
    for (let p = 0; p < routePoints; p++) {
      lat += (rand() - 0.5) * 0.0005;
      lon += (rand() - 0.5) * 0.0005;
      route.push({ latitude: lat, longitude: lon, altitude: 30 + rand() * 10, speed: 2.5 + rand(), course: rand() * 360, horizontalAccuracy: 4, verticalAccuracy: 3, timestamp: date(begin + p * 3000) });
    }
    const id = `00000000-0000-4000-8000-${String(options.seed ?? 1).padStart(4, '0')}${String(w).padStart(8, '0')}`;
    workouts.push({
      id,
      name: 'Outdoor Run',
      start: date(begin),
      end: date(begin + 30 * 60_000),
      duration: 1800,
      location: 'Outdoor',
      isIndoor: false,
      activeEnergyBurned: { qty: 1400 + rand() * 200, units: 'kJ' },
      distance: { qty: 3 + rand(), units: 'mi' },
      heartRateData: Array.from({ length: 30 }, (_, i) => ({ date: date(begin + i * 60_000), Min: 120, Avg: 135, Max: 150, units: 'count/min', source: WATCH })),
      route,
    });
  }

  const samples = metrics.reduce((sum, metric) => sum + metric.data.length, 0) + workouts.length;
  return { payload: { data: { metrics, workouts } }, samples };
}
