/**
 * The unit table. Health Auto Export sends each metric in the unit the user
 * picked on the phone (hae-format.md section 4), so the conversion is driven by
 * the unit that was sent, never by the metric's name.
 *
 * One canonical unit per dimension:
 *
 *   length        m            mass          kg          energy      kcal
 *   temperature   degC         glucose       mg/dL       time        s
 *   speed         m/s          volume        mL          flow        L/min
 *   pressure      mmHg         percent       %           frequency   count/min
 *   count         count        sound         dBASPL      power       W
 *   met           kcal/hr·kg   vo2           mL/min·kg   iu          IU
 *
 * Per-metric exceptions (see `preferredUnit` in metric-names.ts), because people
 * read these metrics in a smaller unit and a value like 0.0000023 kg helps nobody:
 * heart_rate_variability and running_ground_contact_time stay in ms; nutrient
 * masses (sodium, protein, vitamin_d, ...) are stored in g.
 *
 * `%` is kept as sent: blood_oxygen_saturation arrives as 95-100, and a value
 * <= 1 with unit `%` is not guessed to be a fraction. `mmol/L` is only ever sent
 * for blood glucose, so it belongs to the glucose dimension (× 18.0156). A unit
 * the table does not know is kept as sent: the value is stored unchanged with
 * the sent unit as its unit, never rejected, never dropped.
 */
import { metricRule } from './metric-names.js';

export type Dimension =
  | 'length'
  | 'mass'
  | 'energy'
  | 'temperature'
  | 'glucose'
  | 'time'
  | 'speed'
  | 'volume'
  | 'flow'
  | 'pressure'
  | 'percent'
  | 'frequency'
  | 'count'
  | 'sound'
  | 'power'
  | 'met'
  | 'vo2'
  | 'iu';

export const CANONICAL_UNITS: Readonly<Record<Dimension, string>> = {
  length: 'm',
  mass: 'kg',
  energy: 'kcal',
  temperature: 'degC',
  glucose: 'mg/dL',
  time: 's',
  speed: 'm/s',
  volume: 'mL',
  flow: 'L/min',
  pressure: 'mmHg',
  percent: '%',
  frequency: 'count/min',
  count: 'count',
  sound: 'dBASPL',
  power: 'W',
  met: 'kcal/hr·kg',
  vo2: 'mL/min·kg',
  iu: 'IU',
};

/** canonical = sent × factor + offset */
export interface UnitDefinition {
  dimension: Dimension;
  factor: number;
  offset: number;
}

const FAHRENHEIT = { factor: 5 / 9, offset: -32 * (5 / 9) };

// [dimension, factor to canonical, offset]; offsets only exist for temperatures.
const TABLE: Record<string, readonly [Dimension, number, number?]> = {
  m: ['length', 1],
  km: ['length', 1000],
  cm: ['length', 0.01],
  mm: ['length', 0.001],
  mi: ['length', 1609.344],
  ft: ['length', 0.3048],
  in: ['length', 0.0254],
  yd: ['length', 0.9144],

  kg: ['mass', 1],
  g: ['mass', 1e-3],
  mg: ['mass', 1e-6],
  mcg: ['mass', 1e-9],
  'µg': ['mass', 1e-9], // U+00B5 micro sign
  'μg': ['mass', 1e-9], // U+03BC Greek mu
  ug: ['mass', 1e-9],
  lb: ['mass', 0.45359237],
  oz: ['mass', 0.028349523125],
  st: ['mass', 6.35029318],

  kcal: ['energy', 1],
  Cal: ['energy', 1], // the food Calorie
  cal: ['energy', 1e-3],
  kJ: ['energy', 1 / 4.184],
  J: ['energy', 1 / 4184],

  degC: ['temperature', 1, 0],
  '°C': ['temperature', 1, 0],
  degF: ['temperature', FAHRENHEIT.factor, FAHRENHEIT.offset],
  '°F': ['temperature', FAHRENHEIT.factor, FAHRENHEIT.offset],
  K: ['temperature', 1, -273.15],

  'mg/dL': ['glucose', 1],
  'mmol/L': ['glucose', 18.0156],

  s: ['time', 1],
  ms: ['time', 1e-3],
  min: ['time', 60],
  hr: ['time', 3600],
  h: ['time', 3600],
  d: ['time', 86400],

  'm/s': ['speed', 1],
  'km/hr': ['speed', 1 / 3.6],
  'km/h': ['speed', 1 / 3.6],
  'mi/hr': ['speed', 0.44704],
  mph: ['speed', 0.44704],
  'ft/s': ['speed', 0.3048],

  mL: ['volume', 1],
  L: ['volume', 1000],
  dL: ['volume', 100],
  fl_oz_us: ['volume', 29.5735295625],
  fl_oz_imp: ['volume', 28.4130625],
  // HealthKit does not document its cup; this is the US customary cup (8 fl_oz_us).
  cup_us: ['volume', 236.5882365],
  cup_imp: ['volume', 284.130625],
  pt_us: ['volume', 473.176473],
  pt_imp: ['volume', 568.26125],

  'L/min': ['flow', 1],
  'mL/min': ['flow', 1e-3],
  'L/s': ['flow', 60],

  mmHg: ['pressure', 1],
  kPa: ['pressure', 1000 / 133.322387415],
  inHg: ['pressure', 25.4],

  '%': ['percent', 1],

  'count/min': ['frequency', 1],
  bpm: ['frequency', 1],
  'beats/min': ['frequency', 1],
  '/min': ['frequency', 1],
  rpm: ['frequency', 1],
  'count/s': ['frequency', 60],
  Hz: ['frequency', 60],

  count: ['count', 1],

  dBASPL: ['sound', 1],

  W: ['power', 1],
  kW: ['power', 1000],

  'kcal/hr·kg': ['met', 1],
  'kcal/hr*kg': ['met', 1],
  'kcal/hr⋅kg': ['met', 1],
  'kcal/(kg·hr)': ['met', 1],
  'kcal/(kg*hr)': ['met', 1],
  'kcal/kg/hr': ['met', 1],
  'kcal/hr/kg': ['met', 1],
  MET: ['met', 1], // 1 MET is defined as 1 kcal/(kg·h)

  'mL/min·kg': ['vo2', 1],
  'mL/min*kg': ['vo2', 1],
  'mL/min⋅kg': ['vo2', 1],
  'mL/(kg·min)': ['vo2', 1],
  'mL/(kg*min)': ['vo2', 1],
  'mL/kg/min': ['vo2', 1],
  'mL/min/kg': ['vo2', 1],

  IU: ['iu', 1],
};

const UNITS = new Map<string, UnitDefinition>(
  Object.entries(TABLE).map(([unit, [dimension, factor, offset = 0]]) => [unit, { dimension, factor, offset }]),
);

/** Every unit spelling the table knows, as written in the table. */
export const KNOWN_UNITS: readonly string[] = [...UNITS.keys()];

// Case-insensitive fallback (`ml`, `KG`, `mg/dl`), except where case is meaning (`cal` vs `Cal`).
const BY_LOWER_CASE = (() => {
  const index = new Map<string, UnitDefinition | null>();
  for (const [unit, definition] of UNITS) {
    const key = unit.toLowerCase();
    const seen = index.get(key);
    index.set(key, seen === undefined || sameDefinition(seen, definition) ? definition : null);
  }
  return index;
})();

// HealthKit spells glucose molarity with its molar mass: `mmol<180.15588000005408>/L`.
const ANNOTATION = /<[^>]*>/g;

function sameDefinition(a: UnitDefinition | null, b: UnitDefinition): boolean {
  return a !== null && a.dimension === b.dimension && a.factor === b.factor && a.offset === b.offset;
}

/** The table entry for a unit spelling, or null when the unit is unknown. */
export function lookupUnit(unit: string): UnitDefinition | null {
  const exact = UNITS.get(unit);
  if (exact) return exact;
  const cleaned = unit.trim().replace(ANNOTATION, '');
  return UNITS.get(cleaned) ?? BY_LOWER_CASE.get(cleaned.toLowerCase()) ?? null;
}

export function dimensionOf(unit: string): Dimension | null {
  return lookupUnit(unit)?.dimension ?? null;
}

export interface UnitConversion {
  /** The unit values are stored in. */
  unit: string;
  factor: number;
  offset: number;
}

/**
 * How values of `metric` sent in `unit` become canonical. Parsers compute this
 * once per metric entry and apply `value * factor + offset` to each point.
 */
export function canonicalConversion(unit: string, metric: string): UnitConversion {
  const from = lookupUnit(unit);
  if (!from) return { unit, factor: 1, offset: 0 };
  const preferred = metricRule(metric).preferredUnit;
  const target =
    preferred !== null && UNITS.get(preferred)?.dimension === from.dimension ? preferred : CANONICAL_UNITS[from.dimension];
  const to = UNITS.get(target) as UnitDefinition;
  return { unit: target, factor: from.factor / to.factor, offset: (from.offset - to.offset) / to.factor };
}

export function normaliseUnit(value: number, unit: string, metric: string): { value: number; unit: string } {
  const conversion = canonicalConversion(unit, metric);
  return { value: value * conversion.factor + conversion.offset, unit: conversion.unit };
}

/** `value` in `fromUnit` expressed in `toUnit`; null when either is unknown or they measure different things. */
export function convertUnit(value: number, fromUnit: string, toUnit: string): number | null {
  if (fromUnit === toUnit) return value;
  const from = lookupUnit(fromUnit);
  const to = lookupUnit(toUnit);
  if (!from || !to || from.dimension !== to.dimension) return null;
  return (value * from.factor + from.offset - to.offset) / to.factor;
}

export function unitsOfDimension(dimension: Dimension): string[] {
  return KNOWN_UNITS.filter((unit) => UNITS.get(unit)?.dimension === dimension);
}

/** The units a value sent in `unit` can be converted to (empty for an unknown unit). */
export function convertibleUnits(unit: string): string[] {
  const dimension = dimensionOf(unit);
  return dimension === null ? [] : unitsOfDimension(dimension);
}
