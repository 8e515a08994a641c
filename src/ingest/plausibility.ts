/**
 * Medical and physical plausibility checks shared by every input format (HAE
 * and the standard format), so a sample is judged the same whichever way it
 * arrived. Limits come from configuration (design.md principle 5): a sample
 * outside them is rejected with its reason and can be recovered by `reprocess`
 * after the threshold changes.
 *
 * Every check returns a Problem (the first one found) or null.
 */
import { metricRule } from './metric-names.js';
import type { ParseContext, Range, RoutePoint, SeriesPoint, WorkoutRecord } from './records.js';
import { Problem } from './sample-fields.js';

export function checkRange(value: number, range: Range, label: string): Problem | null {
  return value < range.min || value > range.max
    ? new Problem('range', `${label} ${value} is outside the allowed range ${range.min}-${range.max}`)
    : null;
}

/** Min, Avg and Max each inside the heart-rate limits, and Min ≤ Avg ≤ Max. */
export function checkHeartRate(
  min: number,
  avg: number,
  max: number,
  ctx: ParseContext,
  label = 'heart rate',
): Problem | null {
  const range = ctx.limits.heartRate;
  const outside =
    checkRange(min, range, `${label} Min`) ?? checkRange(avg, range, `${label} Avg`) ?? checkRange(max, range, `${label} Max`);
  if (outside) return outside;
  if (min > avg || avg > max) {
    return new Problem('range', `${label} must have Min ≤ Avg ≤ Max, got Min ${min}, Avg ${avg}, Max ${max}`);
  }
  return null;
}

/** Systolic and diastolic inside their limits with systolic above diastolic; pulse (when sent) inside its limits. */
export function checkBloodPressure(
  systolic: number,
  diastolic: number,
  pulse: number | null,
  ctx: ParseContext,
): Problem | null {
  const { limits } = ctx;
  const outside =
    checkRange(systolic, limits.systolic, 'systolic') ??
    checkRange(diastolic, limits.diastolic, 'diastolic') ??
    (pulse === null ? null : checkRange(pulse, limits.pulse, 'pulse'));
  if (outside) return outside;
  if (systolic <= diastolic) {
    return new Problem('range', `systolic ${systolic} must be above diastolic ${diastolic}`);
  }
  return null;
}

export function checkNonNegative(value: number | null, label: string): Problem | null {
  return value !== null && value < 0 ? new Problem('range', `${label} must not be negative, got ${value}`) : null;
}

const DAY_MS = 86_400_000;

/**
 * A quantity metric's value, in its stored unit, against the metric's rule
 * (metric-names.ts): heart rates inside the heart-rate limits, counts and
 * amounts not negative; then, when it is in the unit its bound is written in,
 * not above the metric's bound (metric-bounds.ts), which for amounts grows with
 * a sample longer than a day. Unknown metrics and units are only finite.
 */
export function checkQuantity(
  sample: { metric: string; value: number; unit: string; start: Date; end: Date },
  ctx: ParseContext,
  label = sample.metric,
): Problem | null {
  const { metric, value } = sample;
  const rule = metricRule(metric).range;
  if (rule === 'heart_rate') return checkRange(value, ctx.limits.heartRate, label);
  const negative = rule === 'non_negative' ? checkNonNegative(value, label) : null;
  if (negative) return negative;
  const bound = ctx.limits.metricBounds.get(metric);
  if (!bound || bound.unit !== sample.unit) return null;
  const days = bound.per === 'per_day' ? Math.max(1, (sample.end.getTime() - sample.start.getTime()) / DAY_MS) : 1;
  const max = bound.max * days;
  if (value <= max) return null;
  const over = bound.per === 'per_day' ? `${bound.max} ${bound.unit} per day${days > 1 ? `, ${max} over this sample's ${days.toFixed(2)} days` : ''}` : `${bound.max} ${bound.unit}`;
  return new Problem('range', `${label} ${value} ${bound.unit} is above the plausible maximum of ${over} (VALIDATION_METRIC_MAX)`);
}

/** A route point: coordinates within the globe; speed, course and accuracies valid when present. */
export function checkRoutePoint(point: RoutePoint, label: string): Problem | null {
  if (!(point.lat >= -90 && point.lat <= 90)) {
    return new Problem('range', `${label} latitude ${point.lat} is outside -90..90`);
  }
  if (!(point.lon >= -180 && point.lon <= 180)) {
    return new Problem('range', `${label} longitude ${point.lon} is outside -180..180`);
  }
  if (point.course !== null && !(point.course >= 0 && point.course <= 360)) {
    return new Problem('range', `${label} course ${point.course} is outside 0..360`);
  }
  return (
    checkNonNegative(point.speed, `${label} speed`) ??
    checkNonNegative(point.horizontalAccuracy, `${label} horizontalAccuracy`) ??
    checkNonNegative(point.verticalAccuracy, `${label} verticalAccuracy`)
  );
}

const HEART_RATE_SERIES = new Set(['heartRateData', 'heartRateRecovery']);

/**
 * A series point: heart-rate series inside the heart-rate limits (Min ≤ Avg ≤ Max
 * when all three are present); every other workout series is a non-negative
 * quantity (energy, steps, distance, cadence, power, speed, strokes).
 */
export function checkSeriesPoint(point: SeriesPoint, ctx: ParseContext, label: string): Problem | null {
  if (HEART_RATE_SERIES.has(point.series)) {
    if (point.min !== null && point.avg !== null && point.max !== null) {
      return checkHeartRate(point.min, point.avg, point.max, ctx, `${label} heart rate`);
    }
    for (const [name, value] of [
      ['qty', point.qty],
      ['Min', point.min],
      ['Avg', point.avg],
      ['Max', point.max],
    ] as const) {
      if (value === null) continue;
      const problem = checkRange(value, ctx.limits.heartRate, `${label} heart rate ${name}`);
      if (problem) return problem;
    }
    return null;
  }
  return (
    checkNonNegative(point.qty, `${label} qty`) ??
    checkNonNegative(point.min, `${label} Min`) ??
    checkNonNegative(point.avg, `${label} Avg`) ??
    checkNonNegative(point.max, `${label} Max`)
  );
}

/**
 * A whole workout, which is one sample: one implausible route or series point
 * rejects the workout, with a reason naming the point.
 */
export function checkWorkout(workout: WorkoutRecord, ctx: ParseContext): Problem | null {
  const summary =
    checkNonNegative(workout.durationS, 'duration') ??
    checkNonNegative(workout.distanceM, 'distance') ??
    checkNonNegative(workout.activeEnergyKcal, 'active energy') ??
    checkNonNegative(workout.totalEnergyKcal, 'total energy') ??
    checkWorkoutHeartRate(workout, ctx);
  if (summary) return summary;
  for (let i = 0; i < workout.route.length; i++) {
    const problem = checkRoutePoint(workout.route[i]!, `route[${i}]`);
    if (problem) return problem;
  }
  // Points are named by their index within their own series (heartRateData[3]),
  // which is their index in the array the app sent.
  const seen = new Map<string, number>();
  for (const point of workout.series) {
    const index = seen.get(point.series) ?? 0;
    seen.set(point.series, index + 1);
    const problem = checkSeriesPoint(point, ctx, `${point.series}[${index}]`);
    if (problem) return problem;
  }
  return null;
}

function checkWorkoutHeartRate(workout: WorkoutRecord, ctx: ParseContext): Problem | null {
  const { minHeartRate: min, avgHeartRate: avg, maxHeartRate: max } = workout;
  if (min !== null && avg !== null && max !== null) return checkHeartRate(min, avg, max, ctx, 'workout heart rate');
  const range = ctx.limits.heartRate;
  return (
    (min === null ? null : checkRange(min, range, 'workout heart rate min')) ??
    (avg === null ? null : checkRange(avg, range, 'workout heart rate avg')) ??
    (max === null ? null : checkRange(max, range, 'workout heart rate max'))
  );
}
