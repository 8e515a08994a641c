/**
 * Metric names as Health Auto Export sends them (hae-format.md section 4), the
 * misspellings other receivers use, and what each metric is checked against.
 *
 * An unknown name is stored under the name as sent and only checked for
 * finiteness: iOS adds metrics every year and none of them may be dropped.
 */

/** `heart_rate`: within the configured heart-rate limits; `non_negative`: >= 0; `none`: finite only. */
export type RangeRule = 'heart_rate' | 'non_negative' | 'none';

export interface MetricRule {
  range: RangeRule;
  /** The field that tells same-time samples of this metric apart (insulin `reason`). */
  qualifier: string | null;
  /** Fields kept in `extra`: neither identity nor value. */
  extras: readonly string[];
  /** A unit this metric is stored in instead of its dimension's canonical unit (see units.ts). */
  preferredUnit: string | null;
}

// A Map, not an object literal: a metric named `constructor` must not find Object's.
export const METRIC_ALIASES: ReadonlyMap<string, string> = new Map([
  ['vo2max', 'vo2_max'],
  ['walking_heart_rate', 'walking_heart_rate_average'],
  ['environmental_audio', 'environmental_audio_exposure'],
  ['monosaturated_fat', 'monounsaturated_fat'],
]);

// Heart variability and recovery are not heart rates: SDNN in ms, and a drop in bpm.
const HEART_RATE_RANGED = ['heart_rate', 'resting_heart_rate', 'walking_heart_rate_average'];

// Temperatures can be below zero in any unit; cardio_recovery is a difference of
// two heart rates, which nothing guarantees to be positive.
const SIGNED = [
  'apple_sleeping_wrist_temperature',
  'body_temperature',
  'basal_body_temperature',
  'under_water_temperature',
  'cardio_recovery',
];

const NUTRIENT_MASSES = [
  'dietary_sugar', 'carbohydrates', 'protein', 'fiber', 'total_fat', 'saturated_fat',
  'monounsaturated_fat', 'polyunsaturated_fat', 'cholesterol', 'caffeine', 'sodium',
  'potassium', 'calcium', 'chloride', 'chromium', 'copper', 'iodine', 'iron', 'magnesium',
  'manganese', 'molybdenum', 'selenium', 'zinc', 'phosphorus', 'biotin', 'folate', 'niacin',
  'pantothenic_acid', 'riboflavin', 'thiamin', 'vitamin_a', 'vitamin_b6', 'vitamin_b12',
  'vitamin_c', 'vitamin_d', 'vitamin_e', 'vitamin_k',
];

export const KNOWN_METRICS: readonly string[] = [
  // Activity
  'active_energy', 'basal_energy_burned', 'apple_exercise_time', 'apple_move_time',
  'apple_stand_time', 'apple_stand_hour', 'step_count', 'flights_climbed',
  'walking_running_distance', 'cycling_distance', 'swimming_distance', 'wheelchair_distance',
  'downhill_snow_sports', 'wheelchair_push_count', 'swim_stroke_count', 'vo2_max',
  'physical_effort', 'cycling_cadence', 'cycling_power', 'cycling_speed',
  'cycling_functional_threshold_power', 'running_power', 'running_speed',
  'running_ground_contact_time', 'running_stride_length', 'running_vertical_oscillation',
  // Body
  'height', 'weight_body_mass', 'waist_circumference', 'body_fat_percentage',
  'body_mass_index', 'lean_body_mass', 'apple_sleeping_wrist_temperature',
  // Heart
  'heart_rate', 'resting_heart_rate', 'heart_rate_variability', 'cardio_recovery',
  'walking_heart_rate_average', 'atrial_fibrillation_burden', 'blood_pressure',
  // Mobility
  'walking_speed', 'walking_step_length', 'walking_asymmetry_percentage',
  'walking_double_support_percentage', 'six_minute_walking_test_distance', 'stair_speed_up',
  'stair_speed_down',
  // Respiratory
  'respiratory_rate', 'blood_oxygen_saturation', 'forced_expiratory_volume',
  'forced_vital_capacity', 'peak_expiratory_flow_rate', 'peripheral_perfusion_index',
  'inhaler_usage',
  // Environment and hearing
  'environmental_audio_exposure', 'headphone_audio_exposure', 'uv_exposure',
  'time_in_daylight', 'under_water_depth', 'under_water_temperature',
  // Vitals
  'body_temperature', 'basal_body_temperature', 'blood_glucose', 'insulin_delivery',
  'electrodermal_activity', 'blood_alcohol_content', 'number_of_alcoholic_beverages',
  'number_of_times_fallen',
  // Sleep and mind
  'sleep_analysis', 'breathing_disturbances', 'mindful_minutes', 'sexual_activity',
  'handwashing', 'toothbrushing',
  // Nutrition
  'dietary_energy', 'dietary_water', ...NUTRIENT_MASSES,
];

const UNKNOWN_METRIC: MetricRule = { range: 'none', qualifier: null, extras: [], preferredUnit: null };

const RULES = new Map<string, MetricRule>(
  KNOWN_METRICS.map((name) => [
    name,
    {
      range: HEART_RATE_RANGED.includes(name) ? 'heart_rate' : SIGNED.includes(name) ? 'none' : 'non_negative',
      qualifier: name === 'insulin_delivery' ? 'reason' : null,
      extras: name === 'blood_glucose' ? ['mealTime'] : name === 'handwashing' || name === 'toothbrushing' ? ['value'] : [],
      preferredUnit: NUTRIENT_MASSES.includes(name)
        ? 'g'
        : name === 'heart_rate_variability' || name === 'running_ground_contact_time'
          ? 'ms'
          : null,
    },
  ]),
);

/** The canonical name for a metric name as sent; an unknown name is returned as sent. */
export function canonicalMetricName(name: string): string {
  return METRIC_ALIASES.get(name) ?? name;
}

export function isKnownMetric(name: string): boolean {
  return RULES.has(canonicalMetricName(name));
}

/** The rule for a metric (canonical or alias); unknown names get the finite-only rule. */
export function metricRule(name: string): MetricRule {
  return RULES.get(canonicalMetricName(name)) ?? UNKNOWN_METRIC;
}
