/**
 * The highest plausible value of each known metric, in the unit it is stored in
 * (units.ts), with defaults from physiology and world records, rounded up so no
 * real reading is refused. A step count of 1.7e308 used to be stored, and then
 * made /summary/daily fail with a float8 overflow.
 *
 * Amounts that add up over time (steps, distance, energy, minutes, food) are
 * bounded per day and scale with the sample's length, so the app's daily, weekly
 * or monthly buckets stay plausible; readings at an instant (weight, speed, a
 * percentage) have one bound. A value sent in a unit the table does not know
 * cannot be compared and is only checked for being finite, as before.
 *
 * VALIDATION_METRIC_MAX overrides any of these (src/config/schema.ts); the
 * heart-rate metrics keep their own VALIDATION_HEART_RATE_* range.
 */

export interface MetricBound {
  max: number;
  /** The stored unit the bound is written in. */
  unit: string;
  /** per_day: the bound of one day, multiplied by the sample's length in days when longer. */
  per: 'each' | 'per_day';
}

const DAY = 86_400;
const day = (max: number, unit: string): MetricBound => ({ max, unit, per: 'per_day' });
const each = (max: number, unit: string): MetricBound => ({ max, unit, per: 'each' });

const MACRONUTRIENTS = ['carbohydrates', 'protein', 'total_fat', 'saturated_fat', 'monounsaturated_fat', 'polyunsaturated_fat', 'dietary_sugar', 'fiber'];
const MICRONUTRIENTS = [
  'cholesterol', 'caffeine', 'sodium', 'potassium', 'calcium', 'chloride', 'chromium', 'copper', 'iodine', 'iron', 'magnesium',
  'manganese', 'molybdenum', 'selenium', 'zinc', 'phosphorus', 'biotin', 'folate', 'niacin', 'pantothenic_acid', 'riboflavin',
  'thiamin', 'vitamin_a', 'vitamin_b6', 'vitamin_b12', 'vitamin_c', 'vitamin_d', 'vitamin_e', 'vitamin_k',
];

export const DEFAULT_METRIC_BOUNDS: ReadonlyMap<string, MetricBound> = new Map<string, MetricBound>([
  // Activity: amounts per day, above ultra-endurance records.
  ['step_count', day(250_000, 'count')],
  ['flights_climbed', day(5_000, 'count')],
  ['walking_running_distance', day(500_000, 'm')],
  ['cycling_distance', day(1_500_000, 'm')],
  ['swimming_distance', day(100_000, 'm')],
  ['wheelchair_distance', day(500_000, 'm')],
  ['downhill_snow_sports', day(500_000, 'm')],
  ['wheelchair_push_count', day(250_000, 'count')],
  ['swim_stroke_count', day(250_000, 'count')],
  ['active_energy', day(20_000, 'kcal')],
  ['basal_energy_burned', day(10_000, 'kcal')],
  ['apple_exercise_time', day(DAY, 's')],
  ['apple_move_time', day(DAY, 's')],
  ['apple_stand_time', day(DAY, 's')],
  ['apple_stand_hour', day(24, 'count')],
  ['time_in_daylight', day(DAY, 's')],
  ['mindful_minutes', day(DAY, 's')],
  // Readings at an instant.
  ['vo2_max', each(100, 'mL/min·kg')],
  ['physical_effort', each(30, 'kcal/hr·kg')],
  ['cycling_cadence', each(300, 'count/min')],
  ['cycling_power', each(3_000, 'W')],
  ['cycling_functional_threshold_power', each(1_000, 'W')],
  ['running_power', each(3_000, 'W')],
  ['cycling_speed', each(40, 'm/s')],
  ['running_speed', each(15, 'm/s')],
  ['walking_speed', each(10, 'm/s')],
  ['stair_speed_up', each(10, 'm/s')],
  ['stair_speed_down', each(10, 'm/s')],
  ['running_ground_contact_time', each(3_000, 'ms')],
  ['running_stride_length', each(5, 'm')],
  ['running_vertical_oscillation', each(1, 'm')],
  ['walking_step_length', each(3, 'm')],
  ['walking_asymmetry_percentage', each(100, '%')],
  ['walking_double_support_percentage', each(100, '%')],
  ['six_minute_walking_test_distance', each(3_000, 'm')],
  // Body.
  ['height', each(3, 'm')],
  ['weight_body_mass', each(700, 'kg')],
  ['lean_body_mass', each(700, 'kg')],
  ['waist_circumference', each(5, 'm')],
  ['body_fat_percentage', each(100, '%')],
  ['body_mass_index', each(250, 'count')],
  ['body_temperature', each(50, 'degC')],
  ['basal_body_temperature', each(50, 'degC')],
  ['apple_sleeping_wrist_temperature', each(50, 'degC')],
  // Heart, lungs, blood.
  ['heart_rate_variability', each(3_000, 'ms')],
  ['cardio_recovery', each(300, 'count/min')],
  ['atrial_fibrillation_burden', each(100, '%')],
  ['respiratory_rate', each(150, 'count/min')],
  ['blood_oxygen_saturation', each(100, '%')],
  ['peripheral_perfusion_index', each(100, '%')],
  ['forced_expiratory_volume', each(10_000, 'mL')],
  ['forced_vital_capacity', each(15_000, 'mL')],
  ['peak_expiratory_flow_rate', each(1_500, 'L/min')],
  ['blood_glucose', each(3_000, 'mg/dL')],
  ['blood_alcohol_content', each(100, '%')],
  ['insulin_delivery', day(1_000, 'IU')],
  // Environment and hearing.
  ['environmental_audio_exposure', each(200, 'dBASPL')],
  ['headphone_audio_exposure', each(200, 'dBASPL')],
  ['uv_exposure', each(50, 'count')],
  ['under_water_depth', each(1_000, 'm')],
  ['under_water_temperature', each(60, 'degC')],
  // Events counted per day.
  ['number_of_alcoholic_beverages', day(200, 'count')],
  ['number_of_times_fallen', day(1_000, 'count')],
  ['inhaler_usage', day(1_000, 'count')],
  ['sexual_activity', day(100, 'count')],
  ['handwashing', day(1_000, 'count')],
  ['toothbrushing', day(100, 'count')],
  ['breathing_disturbances', each(1_000, 'count')],
  // Food per day: a kilogram scale for what is eaten by the gram, far above any diet.
  ['dietary_energy', day(30_000, 'kcal')],
  ['dietary_water', day(30_000, 'mL')],
  ...MACRONUTRIENTS.map((name): [string, MetricBound] => [name, day(3_000, 'g')]),
  ...MICRONUTRIENTS.map((name): [string, MetricBound] => [name, day(100, 'g')]),
]);

/** The defaults, for the configuration reference: `step_count=250000 (count per day)`. */
export function describeBounds(): string {
  return [...DEFAULT_METRIC_BOUNDS].map(([name, b]) => `${name}=${b.max} (${b.unit}${b.per === 'per_day' ? ' per day' : ''})`).join(', ');
}
