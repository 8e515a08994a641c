/**
 * Times as the API writes them (ISO 8601 in UTC with milliseconds and Z), formatted
 * by the database: the rows then carry strings the answer uses as they are, instead
 * of a Date parsed from PostgreSQL's text and formatted again for each row (in the
 * export's profile, pg's date parsing alone was 13 % of the server's busy time).
 */
import { readColumns, type TableSpec } from '../samples/tables.js';

/** A timestamptz expression as `2024-03-13T04:19:54.000Z`, the same on both databases whatever the session's zone. */
export const isoText = (expression: string) => `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The columns a record is rebuilt from (readColumns), with every timestamptz as
 * ISO text: rows for answers that write times as they come.
 */
export function readColumnsWithIsoTimes(spec: Pick<TableSpec, 'columns'>, alias = 't'): string {
  const entries = Object.entries(spec.columns);
  const others = readColumns({ columns: Object.fromEntries(entries.filter(([, type]) => type !== 'timestamptz')) }, alias);
  const times = entries.filter(([, type]) => type === 'timestamptz').map(([column]) => `${isoText(`${alias}.${column}`)} AS ${column}`);
  return [others, ...times].join(', ');
}
