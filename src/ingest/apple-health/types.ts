/**
 * HealthKit's identifiers as export.xml writes them, and the metric names the
 * app sends for the same data (hae-format.md section 4), so a sample imported
 * from the export and the same sample pushed by the app land on one identity.
 * An identifier not listed here is stored under the identifier itself.
 */
import { spellingKey } from '../translations/canonical.js';

const QUANTITY_PREFIX = 'HKQuantityTypeIdentifier';
const CATEGORY_PREFIX = 'HKCategoryTypeIdentifier';

const QUANTITIES: Record<string, string> = {
  ActiveEnergyBurned: 'active_energy',
  BasalEnergyBurned: 'basal_energy_burned',
  AppleExerciseTime: 'apple_exercise_time',
  AppleMoveTime: 'apple_move_time',
  AppleStandTime: 'apple_stand_time',
  StepCount: 'step_count',
  FlightsClimbed: 'flights_climbed',
  DistanceWalkingRunning: 'walking_running_distance',
  DistanceCycling: 'cycling_distance',
  DistanceSwimming: 'swimming_distance',
  DistanceWheelchair: 'wheelchair_distance',
  DistanceDownhillSnowSports: 'downhill_snow_sports',
  PushCount: 'wheelchair_push_count',
  SwimmingStrokeCount: 'swim_stroke_count',
  VO2Max: 'vo2_max',
  PhysicalEffort: 'physical_effort',
  CyclingCadence: 'cycling_cadence',
  CyclingPower: 'cycling_power',
  CyclingSpeed: 'cycling_speed',
  CyclingFunctionalThresholdPower: 'cycling_functional_threshold_power',
  RunningPower: 'running_power',
  RunningSpeed: 'running_speed',
  RunningGroundContactTime: 'running_ground_contact_time',
  RunningStrideLength: 'running_stride_length',
  RunningVerticalOscillation: 'running_vertical_oscillation',
  Height: 'height',
  BodyMass: 'weight_body_mass',
  WaistCircumference: 'waist_circumference',
  BodyFatPercentage: 'body_fat_percentage',
  BodyMassIndex: 'body_mass_index',
  LeanBodyMass: 'lean_body_mass',
  AppleSleepingWristTemperature: 'apple_sleeping_wrist_temperature',
  HeartRate: 'heart_rate',
  RestingHeartRate: 'resting_heart_rate',
  HeartRateVariabilitySDNN: 'heart_rate_variability',
  HeartRateRecoveryOneMinute: 'cardio_recovery',
  WalkingHeartRateAverage: 'walking_heart_rate_average',
  AtrialFibrillationBurden: 'atrial_fibrillation_burden',
  WalkingSpeed: 'walking_speed',
  WalkingStepLength: 'walking_step_length',
  WalkingAsymmetryPercentage: 'walking_asymmetry_percentage',
  WalkingDoubleSupportPercentage: 'walking_double_support_percentage',
  SixMinuteWalkTestDistance: 'six_minute_walking_test_distance',
  StairAscentSpeed: 'stair_speed_up',
  StairDescentSpeed: 'stair_speed_down',
  RespiratoryRate: 'respiratory_rate',
  OxygenSaturation: 'blood_oxygen_saturation',
  ForcedExpiratoryVolume1: 'forced_expiratory_volume',
  ForcedVitalCapacity: 'forced_vital_capacity',
  PeakExpiratoryFlowRate: 'peak_expiratory_flow_rate',
  PeripheralPerfusionIndex: 'peripheral_perfusion_index',
  InhalerUsage: 'inhaler_usage',
  EnvironmentalAudioExposure: 'environmental_audio_exposure',
  HeadphoneAudioExposure: 'headphone_audio_exposure',
  UVExposure: 'uv_exposure',
  TimeInDaylight: 'time_in_daylight',
  UnderwaterDepth: 'under_water_depth',
  WaterTemperature: 'under_water_temperature',
  BodyTemperature: 'body_temperature',
  BasalBodyTemperature: 'basal_body_temperature',
  BloodGlucose: 'blood_glucose',
  InsulinDelivery: 'insulin_delivery',
  ElectrodermalActivity: 'electrodermal_activity',
  BloodAlcoholContent: 'blood_alcohol_content',
  NumberOfAlcoholicBeverages: 'number_of_alcoholic_beverages',
  NumberOfTimesFallen: 'number_of_times_fallen',
  DietaryEnergyConsumed: 'dietary_energy',
  DietaryWater: 'dietary_water',
  DietarySugar: 'dietary_sugar',
  DietaryCarbohydrates: 'carbohydrates',
  DietaryProtein: 'protein',
  DietaryFiber: 'fiber',
  DietaryFatTotal: 'total_fat',
  DietaryFatSaturated: 'saturated_fat',
  DietaryFatMonounsaturated: 'monounsaturated_fat',
  DietaryFatPolyunsaturated: 'polyunsaturated_fat',
  DietaryCholesterol: 'cholesterol',
  DietaryCaffeine: 'caffeine',
  DietarySodium: 'sodium',
  DietaryPotassium: 'potassium',
  DietaryCalcium: 'calcium',
  DietaryChloride: 'chloride',
  DietaryChromium: 'chromium',
  DietaryCopper: 'copper',
  DietaryIodine: 'iodine',
  DietaryIron: 'iron',
  DietaryMagnesium: 'magnesium',
  DietaryManganese: 'manganese',
  DietaryMolybdenum: 'molybdenum',
  DietarySelenium: 'selenium',
  DietaryZinc: 'zinc',
  DietaryPhosphorus: 'phosphorus',
  DietaryBiotin: 'biotin',
  DietaryFolate: 'folate',
  DietaryNiacin: 'niacin',
  DietaryPantothenicAcid: 'pantothenic_acid',
  DietaryRiboflavin: 'riboflavin',
  DietaryThiamin: 'thiamin',
  DietaryVitaminA: 'vitamin_a',
  DietaryVitaminB6: 'vitamin_b6',
  DietaryVitaminB12: 'vitamin_b12',
  DietaryVitaminC: 'vitamin_c',
  DietaryVitaminD: 'vitamin_d',
  DietaryVitaminE: 'vitamin_e',
  DietaryVitaminK: 'vitamin_k',
};

const CATEGORIES: Record<string, string> = {
  SleepAnalysis: 'sleep_analysis',
  AppleStandHour: 'apple_stand_hour',
  MindfulSession: 'mindful_minutes',
  SexualActivity: 'sexual_activity',
  HandwashingEvent: 'handwashing',
  ToothbrushingEvent: 'toothbrushing',
};

/** Category samples the app sends as heart-rate notifications, with the kind it names them by. */
export const HEART_RATE_EVENTS: ReadonlyMap<string, string> = new Map([
  [`${CATEGORY_PREFIX}HighHeartRateEvent`, 'high_heart_rate_notification'],
  [`${CATEGORY_PREFIX}LowHeartRateEvent`, 'low_heart_rate_notification'],
  [`${CATEGORY_PREFIX}IrregularHeartRhythmEvent`, 'irregular_rhythm_notification'],
]);

export const BLOOD_PRESSURE = 'HKCorrelationTypeIdentifierBloodPressure';
export const FOOD = 'HKCorrelationTypeIdentifierFood';
export const SYSTOLIC = `${QUANTITY_PREFIX}BloodPressureSystolic`;
export const DIASTOLIC = `${QUANTITY_PREFIX}BloodPressureDiastolic`;

/**
 * HealthKit's percent unit is a fraction (0.97 written `%`); the app sends the same
 * samples as 97. These are converted so both land on one value.
 */
export const FRACTION_PERCENT = '%';

export function isCategory(identifier: string): boolean {
  return identifier.startsWith(CATEGORY_PREFIX);
}

/** The app's metric name for a HealthKit identifier; the identifier itself when the app has none. */
export function metricNameFor(identifier: string): string {
  if (identifier.startsWith(QUANTITY_PREFIX)) return QUANTITIES[identifier.slice(QUANTITY_PREFIX.length)] ?? identifier;
  if (identifier.startsWith(CATEGORY_PREFIX)) return CATEGORIES[identifier.slice(CATEGORY_PREFIX.length)] ?? identifier;
  return identifier;
}

/** `HKCategoryValueSleepAnalysisAsleepCore` → `AsleepCore`; a value without the prefix as written. */
export function categoryValue(value: string, identifier: string): string {
  const prefix = `HKCategoryValue${identifier.slice(CATEGORY_PREFIX.length)}`;
  if (value.startsWith(prefix)) return value.slice(prefix.length);
  return value.startsWith('HKCategoryValue') ? value.slice('HKCategoryValue'.length) : value;
}

/** `HKWorkoutActivityTypeTraditionalStrengthTraining` → `Traditional Strength Training`. */
export function activityName(activityType: string): string {
  const bare = activityType.replace(/^HKWorkoutActivityType/, '');
  return bare.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
}

/**
 * What the app names a HealthKit activity, where that is not the activity's own
 * name spelled out (the app says "Outdoor Run" for a run that was outdoors).
 */
const APP_WORKOUT_NAMES: Record<string, string[]> = {
  Running: ['Outdoor Run', 'Indoor Run'],
  Walking: ['Outdoor Walk', 'Indoor Walk'],
  Cycling: ['Outdoor Cycle', 'Indoor Cycle'],
  Swimming: ['Pool Swim', 'Open Water Swim'],
  Hiking: ['Outdoor Hike'],
  Rowing: ['Indoor Rowing', 'Outdoor Rowing'],
  HighIntensityIntervalTraining: ['HIIT'],
  MixedCardio: ['Mixed Cardio'],
  Other: ['Other'],
};

/** The names the app may give this activity, as spelling keys (translations/canonical.ts). */
export function appWorkoutNames(activityType: string): string[] {
  const bare = activityType.replace(/^HKWorkoutActivityType/, '');
  return [...new Set([activityName(activityType), ...(APP_WORKOUT_NAMES[bare] ?? [])].map(spellingKey))];
}
