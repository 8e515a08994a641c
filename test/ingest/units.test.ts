import { describe, expect, it } from 'vitest';
import {
  CANONICAL_UNITS,
  KNOWN_UNITS,
  convertUnit,
  convertibleUnits,
  dimensionOf,
  normaliseUnit,
  unitsOfDimension,
} from '../../src/ingest/units.js';

/** Relative comparison: conversions multiply, so the error scales with the value. */
function expectNear(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  const tolerance = 1e-9 * Math.max(Math.abs(expected), 1e-12);
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(tolerance);
}

// [sent unit, sent value, value in the canonical unit, canonical unit]: one row
// per spelling in the table, with the expected numbers worked out by hand.
const CONVERSIONS: [string, number, number, string][] = [
  ['m', 5, 5, 'm'],
  ['km', 1.5, 1500, 'm'],
  ['cm', 180, 1.8, 'm'],
  ['mm', 250, 0.25, 'm'],
  ['mi', 1, 1609.344, 'm'],
  ['ft', 10, 3.048, 'm'],
  ['in', 25.590551181102363, 0.65, 'm'],
  ['yd', 100, 91.44, 'm'],

  ['kg', 70, 70, 'kg'],
  ['g', 500, 0.5, 'kg'],
  ['mg', 2300, 0.0023, 'kg'],
  ['mcg', 400, 4e-7, 'kg'],
  ['µg', 400, 4e-7, 'kg'],
  ['μg', 400, 4e-7, 'kg'],
  ['ug', 400, 4e-7, 'kg'],
  ['lb', 176.4, 80.013694068, 'kg'],
  ['oz', 16, 0.45359237, 'kg'],
  ['st', 11, 69.85322498, 'kg'],

  ['kcal', 250, 250, 'kcal'],
  ['Cal', 250, 250, 'kcal'],
  ['cal', 250_000, 250, 'kcal'],
  ['kJ', 1000, 239.0057361376673, 'kcal'],
  ['J', 4184, 1, 'kcal'],

  ['degC', 36.6, 36.6, 'degC'],
  ['°C', -2.5, -2.5, 'degC'],
  ['degF', 98.6, 37, 'degC'],
  ['°F', 212, 100, 'degC'],
  ['K', 310.15, 37, 'degC'],

  ['mg/dL', 100, 100, 'mg/dL'],
  ['mmol/L', 5.4, 97.28424, 'mg/dL'],

  ['s', 30, 30, 's'],
  ['ms', 1500, 1.5, 's'],
  ['min', 1.5, 90, 's'],
  ['hr', 1.5, 5400, 's'],
  ['h', 2, 7200, 's'],
  ['d', 1, 86400, 's'],

  ['m/s', 3, 3, 'm/s'],
  ['km/hr', 36, 10, 'm/s'],
  ['km/h', 18, 5, 'm/s'],
  ['mi/hr', 10, 4.4704, 'm/s'],
  ['mph', 5, 2.2352, 'm/s'],
  ['ft/s', 10, 3.048, 'm/s'],

  ['mL', 250, 250, 'mL'],
  ['L', 1.5, 1500, 'mL'],
  ['dL', 2, 200, 'mL'],
  ['fl_oz_us', 8, 236.5882365, 'mL'],
  ['fl_oz_imp', 20, 568.26125, 'mL'],
  ['cup_us', 2, 473.176473, 'mL'],
  ['cup_imp', 1, 284.130625, 'mL'],
  ['pt_us', 1, 473.176473, 'mL'],
  ['pt_imp', 1, 568.26125, 'mL'],

  ['L/min', 450, 450, 'L/min'],
  ['mL/min', 1500, 1.5, 'L/min'],
  ['L/s', 7.5, 450, 'L/min'],

  ['mmHg', 120, 120, 'mmHg'],
  ['kPa', 16, 120.009852135305, 'mmHg'],
  ['inHg', 2, 50.8, 'mmHg'],

  ['%', 97, 97, '%'],

  ['count/min', 72, 72, 'count/min'],
  ['bpm', 72, 72, 'count/min'],
  ['beats/min', 72, 72, 'count/min'],
  ['/min', 16, 16, 'count/min'],
  ['rpm', 90, 90, 'count/min'],
  ['count/s', 1.2, 72, 'count/min'],
  ['Hz', 1.5, 90, 'count/min'],

  ['count', 12, 12, 'count'],

  ['dBASPL', 78.5, 78.5, 'dBASPL'],

  ['W', 250, 250, 'W'],
  ['kW', 0.25, 250, 'W'],

  ['kcal/hr·kg', 1.5, 1.5, 'kcal/hr·kg'],
  ['kcal/hr*kg', 1.5, 1.5, 'kcal/hr·kg'],
  ['kcal/hr⋅kg', 1.5, 1.5, 'kcal/hr·kg'],
  ['kcal/(kg·hr)', 1.5, 1.5, 'kcal/hr·kg'],
  ['kcal/(kg*hr)', 1.5, 1.5, 'kcal/hr·kg'],
  ['kcal/kg/hr', 1.5, 1.5, 'kcal/hr·kg'],
  ['kcal/hr/kg', 1.5, 1.5, 'kcal/hr·kg'],
  ['MET', 8, 8, 'kcal/hr·kg'],

  ['mL/min·kg', 42, 42, 'mL/min·kg'],
  ['mL/min*kg', 42, 42, 'mL/min·kg'],
  ['mL/min⋅kg', 42, 42, 'mL/min·kg'],
  ['mL/(kg·min)', 42, 42, 'mL/min·kg'],
  ['mL/(kg*min)', 42, 42, 'mL/min·kg'],
  ['mL/kg/min', 42, 42, 'mL/min·kg'],
  ['mL/min/kg', 42, 42, 'mL/min·kg'],

  ['IU', 4, 4, 'IU'],
];

describe('unit table', () => {
  it.each(CONVERSIONS)('%s: %d becomes %d in the canonical unit', (unit, sent, expected, canonical) => {
    const normalised = normaliseUnit(sent, unit, 'some_metric');
    expect(normalised.unit).toBe(canonical);
    expectNear(normalised.value, expected);
  });

  it('has a hand-checked conversion above for every spelling in the table', () => {
    expect(new Set(CONVERSIONS.map(([unit]) => unit))).toEqual(new Set(KNOWN_UNITS));
  });

  it('converts each dimension to the canonical unit it documents', () => {
    for (const [unit, , , canonical] of CONVERSIONS) {
      expect(CANONICAL_UNITS[dimensionOf(unit)!]).toBe(canonical);
    }
  });

  it('keeps % as sent: a saturation of 0.97 is not guessed to be a fraction', () => {
    expect(normaliseUnit(0.97, '%', 'blood_oxygen_saturation')).toEqual({ value: 0.97, unit: '%' });
  });

  it('converts -40 degF to -40 degC and 32 degF to 0 degC', () => {
    expectNear(normaliseUnit(-40, 'degF', 'body_temperature').value, -40);
    expect(Math.abs(normaliseUnit(32, 'degF', 'body_temperature').value)).toBeLessThan(1e-12);
  });
});

describe('units the table does not know', () => {
  it('keeps the value and the sent unit', () => {
    expect(normaliseUnit(3.25, 'zorks', 'a_metric_from_a_future_ios')).toEqual({ value: 3.25, unit: 'zorks' });
    expect(normaliseUnit(3.25, '', 'step_count')).toEqual({ value: 3.25, unit: '' });
  });

  it('reads HealthKit glucose molarity with its molar mass annotation', () => {
    const normalised = normaliseUnit(5.4, 'mmol<180.15588000005408>/L', 'blood_glucose');
    expect(normalised.unit).toBe('mg/dL');
    expectNear(normalised.value, 97.28424);
  });

  it('matches case-insensitively, except where case is meaning (cal vs Cal)', () => {
    expect(normaliseUnit(250, 'ml', 'dietary_water')).toEqual({ value: 250, unit: 'mL' });
    expectNear(normaliseUnit(1, 'KM', 'cycling_distance').value, 1000);
    expect(normaliseUnit(90, 'mg/dl', 'blood_glucose')).toEqual({ value: 90, unit: 'mg/dL' });
    expect(normaliseUnit(250, 'CAL', 'dietary_energy')).toEqual({ value: 250, unit: 'CAL' });
  });
});

describe('the sent unit drives the conversion, never the metric name', () => {
  it('converts an unknown metric sent in a known unit', () => {
    expectNear(normaliseUnit(2, 'mi', 'a_metric_from_a_future_ios').value, 3218.688);
  });

  it('converts the same metric from whichever unit the phone used', () => {
    expectNear(normaliseUnit(1.2, 'km', 'walking_running_distance').value, 1200);
    expectNear(normaliseUnit(1.2, 'mi', 'walking_running_distance').value, 1931.2128);
    expect(normaliseUnit(1.2, 'm', 'walking_running_distance').value).toBe(1.2);
  });
});

describe('per-metric canonical units', () => {
  it('keeps heart_rate_variability in ms, and converts it there from s', () => {
    expect(normaliseUnit(21.7, 'ms', 'heart_rate_variability')).toEqual({ value: 21.7, unit: 'ms' });
    const fromSeconds = normaliseUnit(0.0217, 's', 'heart_rate_variability');
    expect(fromSeconds.unit).toBe('ms');
    expectNear(fromSeconds.value, 21.7);
  });

  it('keeps running_ground_contact_time in ms', () => {
    expect(normaliseUnit(245, 'ms', 'running_ground_contact_time')).toEqual({ value: 245, unit: 'ms' });
  });

  it('stores nutrient masses in g and body masses in kg', () => {
    const sodium = normaliseUnit(2300, 'mg', 'sodium');
    expect(sodium.unit).toBe('g');
    expectNear(sodium.value, 2.3);
    const vitaminD = normaliseUnit(15, 'mcg', 'vitamin_d');
    expectNear(vitaminD.value, 1.5e-5);
    expect(normaliseUnit(1500, 'g', 'weight_body_mass')).toEqual({ value: 1.5, unit: 'kg' });
  });

  it('applies aliases: monosaturated_fat is a nutrient too', () => {
    expect(normaliseUnit(5000, 'mg', 'monosaturated_fat')).toEqual({ value: 5, unit: 'g' });
  });

  it('falls back to the dimension canonical unit when the preferred unit measures something else', () => {
    expect(normaliseUnit(4, 'IU', 'vitamin_d')).toEqual({ value: 4, unit: 'IU' });
  });

  it('converts glucose from mmol/L and body temperature from degF', () => {
    expectNear(normaliseUnit(5.4, 'mmol/L', 'blood_glucose').value, 97.28424);
    expectNear(normaliseUnit(98.6, 'degF', 'body_temperature').value, 37);
  });
});

describe('convertUnit', () => {
  it('converts between any two units of one dimension', () => {
    expectNear(convertUnit(1609.344, 'm', 'mi'), 1);
    expectNear(convertUnit(5, 'km', 'mi'), 3.1068559611866697);
    expectNear(convertUnit(37, 'degC', 'degF'), 98.6);
    expectNear(convertUnit(100, 'degF', 'K'), 310.92777777777775);
    expectNear(convertUnit(97.28424, 'mg/dL', 'mmol/L'), 5.4);
    expectNear(convertUnit(4.4704, 'm/s', 'mi/hr'), 10);
    expectNear(convertUnit(2, 'hr', 'min'), 120);
    expectNear(convertUnit(80, 'kg', 'lb'), 176.36980974790205);
    expectNear(convertUnit(500, 'kcal', 'kJ'), 2092);
  });

  it('returns null across dimensions or for an unknown unit', () => {
    expect(convertUnit(1, 'm', 'kg')).toBeNull();
    expect(convertUnit(1, 'zorks', 'm')).toBeNull();
    expect(convertUnit(1, 'm', 'zorks')).toBeNull();
  });

  it('returns the value unchanged between identical spellings, known or not', () => {
    expect(convertUnit(3.25, 'zorks', 'zorks')).toBe(3.25);
    expect(convertUnit(3.25, 'mi', 'mi')).toBe(3.25);
  });
});

describe('convertible units', () => {
  it('lists the units of a dimension', () => {
    expect(unitsOfDimension('temperature')).toEqual(['degC', '°C', 'degF', '°F', 'K']);
    expect(unitsOfDimension('glucose')).toEqual(['mg/dL', 'mmol/L']);
  });

  it('lists the units a sent unit converts to', () => {
    expect(convertibleUnits('mi')).toEqual(['m', 'km', 'cm', 'mm', 'mi', 'ft', 'in', 'yd']);
    expect(convertibleUnits('zorks')).toEqual([]);
  });
});
