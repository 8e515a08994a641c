/**
 * Sums of stored values, taken in numeric rather than float8: rows stored before the
 * upper bounds existed (a step count of 1.7e308) overflowed a float8 sum and made a
 * whole read answer 500. The result comes back as float8, or null when no float8
 * holds it.
 */

/** `sum(column)` in numeric, as float8 or null. `filter` is an optional FILTER condition. */
export const exactSum = (expression: string, filter?: string) => asFloat(`sum((${expression})::numeric)${filter ? ` FILTER (WHERE ${filter})` : ''}`);

/** A numeric expression as float8, or null when no float8 holds it. */
export const asFloat = (total: string) => `(CASE WHEN abs(${total}) <= 1.7976931348623157e308 THEN (${total})::float8 END)`;
