/**
 * Nothing disappears silently: every ingestion's counts add up, overall and per
 * type, and the per-type counts add up to the overall ones. Every ingestion test
 * checks a response with this, so a new outcome that is not counted fails there.
 */
import { expect } from 'vitest';
import type { Counts } from '../../src/storage/repositories/ingestions.js';

const OUTCOMES = ['received', 'inserted', 'updated', 'unchanged', 'rejected'] as const;
const accounted = (c: Counts) => c.inserted + c.updated + c.unchanged + c.rejected;

/** Asserts the counts of an ingestion object (an ingest response or GET /ingestions/:id) add up; returns them. */
export function expectCountsAddUp(body: { counts?: Counts; by_type?: Record<string, Counts> }): Counts {
  const { counts, by_type: byType } = body;
  expect(counts, 'the ingestion carries counts').toBeDefined();
  expect(byType, 'the ingestion carries by_type').toBeDefined();
  expect(accounted(counts!), 'inserted + updated + unchanged + rejected = received').toBe(counts!.received);
  const types = Object.entries(byType!);
  // A payload with samples has types; an empty one has neither (so the loop below cannot pass vacuously).
  expect(types.length > 0, 'by_type lists the types received').toBe(counts!.received > 0);
  const total: Counts = { received: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
  for (const [type, c] of types) {
    expect(accounted(c), `${type}: inserted + updated + unchanged + rejected = received`).toBe(c.received);
    for (const outcome of OUTCOMES) total[outcome] += c[outcome];
  }
  expect(total, 'by_type adds up to counts').toEqual(counts);
  return counts!;
}
