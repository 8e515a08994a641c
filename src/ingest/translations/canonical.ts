/**
 * Medication status, ECG classification, symptom and cycle-tracking values arrive in
 * the phone's language ("Tomado" / "Taken"). They are stored as sent (the qualifier
 * too); beside them, `canonical` holds the language-independent form of each value the
 * table in values.json recognises, so "Tomado" and "Taken" can be read as one status.
 * The table is data: a language or a spelling is added there, not here.
 */
import table from './values.json' with { type: 'json' };
import type { CanonicalValues } from '../records.js';

/** The types whose values arrive translated, as their by_type names. */
export type TranslatedType = 'medications' | 'ecg' | 'symptoms' | 'cycle_tracking';

type Spellings = Record<string, Record<string, string[]>>;

/** Case, spaces and punctuation aside: 'Sinus Rhythm', 'sinusRhythm' and 'sinus_rhythm' are one spelling. */
export function spellingKey(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

function lookup(fields: Record<string, Spellings>): Map<string, Map<string, string>> {
  const byField = new Map<string, Map<string, string>>();
  for (const [field, values] of Object.entries(fields)) {
    const spellings = new Map<string, string>();
    for (const [canonical, languages] of Object.entries(values)) {
      for (const spelling of [canonical, ...Object.values(languages).flat()]) {
        const key = spellingKey(spelling);
        const earlier = spellings.get(key);
        // One spelling for two values would make the answer depend on the table's order.
        if (earlier !== undefined && earlier !== canonical) throw new Error(`values.json: ${field} "${spelling}" is both ${earlier} and ${canonical}`);
        spellings.set(key, canonical);
      }
    }
    byField.set(field, spellings);
  }
  return byField;
}

const TABLES: Record<TranslatedType, Map<string, Map<string, string>>> = {
  medications: lookup(table.medications),
  ecg: lookup(table.ecg),
  symptoms: lookup(table.symptoms),
  cycle_tracking: lookup(table.cycle_tracking),
};

export function isTranslatedType(type: string): type is TranslatedType {
  return Object.hasOwn(TABLES, type);
}

/** The recognised fields of a record as sent, in their canonical form; null when none is recognised. */
export function canonicalValues(type: string, record: Record<string, unknown>): CanonicalValues | null {
  if (!isTranslatedType(type)) return null;
  let canonical: CanonicalValues | null = null;
  for (const [field, spellings] of TABLES[type]) {
    const value = record[field];
    if (typeof value !== 'string') continue;
    const found = spellings.get(spellingKey(value));
    if (found !== undefined) (canonical ??= {})[field] = found;
  }
  return canonical;
}
