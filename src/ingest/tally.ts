/**
 * Counts per type and outcome. Every sample received ends in exactly one of
 * inserted, updated, unchanged or rejected, so the five numbers always add up.
 */
import type { Counts } from '../storage/repositories/ingestions.js';

export type CountField = keyof Counts;

const empty = (): Counts => ({ received: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 });

export class Tally {
  readonly byType = new Map<string, Counts>();

  add(type: string, field: CountField, count = 1): void {
    if (count === 0) return;
    let entry = this.byType.get(type);
    if (!entry) this.byType.set(type, (entry = empty()));
    entry[field] += count;
  }

  totals(): Counts {
    const total = empty();
    for (const counts of this.byType.values()) {
      for (const field of Object.keys(total) as CountField[]) total[field] += counts[field];
    }
    return total;
  }

  /** Types whose outcomes do not add up to what was received: always empty unless there is a bug. */
  unbalanced(): string[] {
    return [...this.byType]
      .filter(([, c]) => c.received !== c.inserted + c.updated + c.unchanged + c.rejected)
      .map(([type]) => type);
  }

  toJSON(): Record<string, Counts> {
    return Object.fromEntries([...this.byType].sort(([a], [b]) => a.localeCompare(b)));
  }
}
