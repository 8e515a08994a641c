/**
 * How each kind of record maps onto its table: the columns written, the identity
 * (conflict) key and the value columns compared to tell `updated` from `unchanged`.
 * Rows are plain objects; upsert.ts sends them by COPY or as one JSON parameter, so
 * a statement has the same few parameters whatever the chunk size.
 *
 * The way back lives here too: `fromRow` rebuilds the record from a row selected
 * with `readColumns(spec)`, so exports give back exactly what was stored.
 */
import type {
  BloodPressureRecord,
  CanonicalValues,
  EcgRecord,
  EventRecord,
  HealthRecord,
  HeartRateRecord,
  QuantityRecord,
  SleepNightRecord,
  SleepSegmentRecord,
  SleepStage,
} from '../../ingest/records.js';
import { SINGLE_TYPE_KINDS } from '../../ingest/records.js';
import type { PartitionedTable } from '../partitions.js';

export type Row = Record<string, unknown>;

export interface TableSpec<R extends HealthRecord = HealthRecord> {
  table: string;
  /** Set when the table is range-partitioned by month on start_at. */
  partitioned?: PartitionedTable;
  /** Every column written, with its SQL type; user_id and ingestion_id included. */
  columns: Record<string, string>;
  key: string[];
  values: string[];
  /**
   * The `by_type` name of the rows: a column holding it (`metric`, `type`), or the one
   * name every row of the table counts under.
   */
  type: { column: string } | { name: string };
  toRow(record: R): Row;
  /** The inverse of toRow, for a row selected with readColumns(spec). */
  fromRow(row: Row): R;
}

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoDay = NaN;
let isoDayPrefix = '';

/**
 * Date.toISOString(), six times faster: the samples of a chunk mostly fall on a
 * few days, so the date part ('2024-05-01T') is kept from the previous call and
 * only the time is formatted (toISOString was 7 % of the server's CPU on a
 * 500,000-sample upload). Another day, or an invalid date, goes to toISOString.
 */
function iso(date: Date): string {
  const time = date.getTime();
  const day = Math.floor(time / DAY_MS);
  if (day !== isoDay) {
    const text = date.toISOString();
    isoDay = day;
    isoDayPrefix = text.slice(0, text.indexOf('T') + 1);
    return text;
  }
  let ms = time - day * DAY_MS;
  const hours = Math.floor(ms / 3_600_000);
  ms -= hours * 3_600_000;
  const minutes = Math.floor(ms / 60_000);
  ms -= minutes * 60_000;
  const seconds = Math.floor(ms / 1000);
  ms -= seconds * 1000;
  return `${isoDayPrefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[ms]}Z`;
}
/** end_at beside an already formatted start_at: most samples are instants, formatted once. */
const endIso = (r: { start: Date; end: Date }, startAt: string) => (r.end.getTime() === r.start.getTime() ? startAt : iso(r.end));
const identity = { user_id: 'uuid', ingestion_id: 'uuid' };
/** Whose rows they are and which ingestion wrote them: columns every chunked table has, never read back into a record. */
export const OWNER_COLUMNS: readonly string[] = Object.keys(identity);

/** The columns a record is rebuilt from; dates as text (drivers turn them into local-midnight Dates). */
export function readColumns(spec: Pick<TableSpec, 'columns'>, alias = 't'): string {
  return Object.entries(spec.columns)
    .filter(([column]) => !OWNER_COLUMNS.includes(column))
    .map(([column, type]) => (type === 'date' ? `${alias}.${column}::text AS ${column}` : `${alias}.${column}`))
    .join(', ');
}

/** Drivers give timestamptz as Date (pg, PGlite); accept text too. */
export const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string));
const optionalDate = (value: unknown): Date | null => (value === null || value === undefined ? null : asDate(value));
const num = (value: unknown) => value as number;
/** A column that may be NULL (or absent from the row) as `T | null`. */
export const nullable = <T>(value: unknown): T | null => (value === null || value === undefined ? null : (value as T));
const optionalNum = nullable<number>;
const str = (value: unknown) => value as string;
const optionalStr = nullable<string>;
/** Fields every record has; `raw` is only kept for rejections, so a stored record has none. */
const base = (row: Row) => ({ start: asDate(row.start_at), end: asDate(row.end_at), source: str(row.source), raw: null });

const quantity: TableSpec<QuantityRecord> = {
  table: 'quantity_samples',
  partitioned: 'quantity_samples',
  columns: {
    ...identity,
    metric: 'text',
    start_at: 'timestamptz',
    end_at: 'timestamptz',
    source: 'text',
    qualifier: 'text',
    value: 'float8',
    unit: 'text',
    sent_value: 'float8',
    sent_unit: 'text',
    extra: 'jsonb',
  },
  key: ['user_id', 'metric', 'start_at', 'end_at', 'source', 'qualifier'],
  values: ['value', 'unit', 'sent_value', 'sent_unit', 'extra'],
  type: { column: 'metric' },
  fromRow: (row) => ({
    kind: 'quantity',
    type: str(row.metric),
    ...base(row),
    qualifier: str(row.qualifier),
    value: num(row.value),
    unit: str(row.unit),
    sentValue: num(row.sent_value),
    sentUnit: str(row.sent_unit),
    extra: (row.extra as Record<string, unknown> | null) ?? null,
  }),
  toRow: (r) => {
    const start = iso(r.start);
    return {
      metric: r.type,
      start_at: start,
      end_at: endIso(r, start),
      source: r.source,
      qualifier: r.qualifier,
      value: r.value,
      unit: r.unit,
      sent_value: r.sentValue,
      sent_unit: r.sentUnit,
      extra: r.extra,
    };
  },
};

const heartRate: TableSpec<HeartRateRecord> = {
  table: 'heart_rate_samples',
  partitioned: 'heart_rate_samples',
  columns: { ...identity, start_at: 'timestamptz', end_at: 'timestamptz', source: 'text', min: 'float8', avg: 'float8', max: 'float8', context: 'text' },
  key: ['user_id', 'start_at', 'end_at', 'source'],
  values: ['min', 'avg', 'max', 'context'],
  type: { name: SINGLE_TYPE_KINDS.heart_rate },
  fromRow: (row) => ({
    kind: 'heart_rate',
    type: SINGLE_TYPE_KINDS.heart_rate,
    ...base(row),
    min: num(row.min),
    avg: num(row.avg),
    max: num(row.max),
    context: optionalStr(row.context),
  }),
  toRow: (r) => {
    const start = iso(r.start);
    return { start_at: start, end_at: endIso(r, start), source: r.source, min: r.min, avg: r.avg, max: r.max, context: r.context };
  },
};

const bloodPressure: TableSpec<BloodPressureRecord> = {
  table: 'blood_pressure_samples',
  partitioned: 'blood_pressure_samples',
  columns: { ...identity, start_at: 'timestamptz', end_at: 'timestamptz', source: 'text', systolic: 'float8', diastolic: 'float8', pulse: 'float8' },
  key: ['user_id', 'start_at', 'end_at', 'source'],
  values: ['systolic', 'diastolic', 'pulse'],
  type: { name: SINGLE_TYPE_KINDS.blood_pressure },
  fromRow: (row) => ({
    kind: 'blood_pressure',
    type: SINGLE_TYPE_KINDS.blood_pressure,
    ...base(row),
    systolic: num(row.systolic),
    diastolic: num(row.diastolic),
    pulse: optionalNum(row.pulse),
  }),
  toRow: (r) => {
    const start = iso(r.start);
    return { start_at: start, end_at: endIso(r, start), source: r.source, systolic: r.systolic, diastolic: r.diastolic, pulse: r.pulse };
  },
};

const sleepSegment: TableSpec<SleepSegmentRecord> = {
  table: 'sleep_segments',
  partitioned: 'sleep_segments',
  columns: { ...identity, start_at: 'timestamptz', end_at: 'timestamptz', source: 'text', stage: 'text', sent_stage: 'text', hours: 'float8' },
  key: ['user_id', 'start_at', 'end_at', 'source', 'stage', 'sent_stage'],
  values: ['hours'],
  type: { name: SINGLE_TYPE_KINDS.sleep_segment },
  fromRow: (row) => ({
    kind: 'sleep_segment',
    type: SINGLE_TYPE_KINDS.sleep_segment,
    ...base(row),
    stage: row.stage as SleepStage,
    sentStage: str(row.sent_stage),
    hours: num(row.hours),
  }),
  toRow: (r) => ({ start_at: iso(r.start), end_at: iso(r.end), source: r.source, stage: r.stage, sent_stage: r.sentStage, hours: r.hours }),
};

const optionalIso = (date: Date | null) => (date ? iso(date) : null);

const sleepNight: TableSpec<SleepNightRecord> = {
  table: 'sleep_nights',
  columns: {
    ...identity,
    night_date: 'date',
    source: 'text',
    start_at: 'timestamptz',
    end_at: 'timestamptz',
    total_sleep: 'float8',
    asleep: 'float8',
    core: 'float8',
    deep: 'float8',
    rem: 'float8',
    awake: 'float8',
    in_bed: 'float8',
    in_bed_start: 'timestamptz',
    in_bed_end: 'timestamptz',
  },
  // A night's start, not its end, is its identity (migration 060): it grows while re-sent.
  key: ['user_id', 'source', 'start_at'],
  values: ['night_date', 'end_at', 'total_sleep', 'asleep', 'core', 'deep', 'rem', 'awake', 'in_bed', 'in_bed_start', 'in_bed_end'],
  type: { name: SINGLE_TYPE_KINDS.sleep_night },
  fromRow: (row) => ({
    kind: 'sleep_night',
    type: SINGLE_TYPE_KINDS.sleep_night,
    ...base(row),
    nightDate: str(row.night_date),
    totalSleep: optionalNum(row.total_sleep),
    asleep: optionalNum(row.asleep),
    core: optionalNum(row.core),
    deep: optionalNum(row.deep),
    rem: optionalNum(row.rem),
    awake: optionalNum(row.awake),
    inBed: optionalNum(row.in_bed),
    inBedStart: optionalDate(row.in_bed_start),
    inBedEnd: optionalDate(row.in_bed_end),
  }),
  toRow: (r) => ({
    night_date: r.nightDate,
    source: r.source,
    start_at: iso(r.start),
    end_at: iso(r.end),
    total_sleep: r.totalSleep,
    asleep: r.asleep,
    core: r.core,
    deep: r.deep,
    rem: r.rem,
    awake: r.awake,
    in_bed: r.inBed,
    in_bed_start: optionalIso(r.inBedStart),
    in_bed_end: optionalIso(r.inBedEnd),
  }),
};

const event: TableSpec<EventRecord> = {
  table: 'health_events',
  columns: { ...identity, type: 'text', start_at: 'timestamptz', end_at: 'timestamptz', source: 'text', qualifier: 'text', data: 'jsonb', canonical: 'jsonb' },
  key: ['user_id', 'type', 'start_at', 'end_at', 'source', 'qualifier'],
  values: ['data', 'canonical'],
  type: { column: 'type' },
  fromRow: (row) => ({
    kind: 'event',
    type: row.type as EventRecord['type'],
    ...base(row),
    qualifier: str(row.qualifier),
    data: row.data as Record<string, unknown>,
    canonical: nullable<CanonicalValues>(row.canonical),
  }),
  toRow: (r) => ({ type: r.type, start_at: iso(r.start), end_at: iso(r.end), source: r.source, qualifier: r.qualifier, data: r.data, canonical: r.canonical }),
};

const ecg: TableSpec<EcgRecord> = {
  table: 'ecg_recordings',
  columns: {
    ...identity,
    start_at: 'timestamptz',
    end_at: 'timestamptz',
    source: 'text',
    classification: 'text',
    average_heart_rate: 'float8',
    sampling_frequency: 'float8',
    voltages: 'float8[]',
    voltage_times: 'float8[]',
    voltage_unit: 'text',
    data: 'jsonb',
    canonical: 'jsonb',
  },
  key: ['user_id', 'start_at', 'end_at', 'source'],
  values: ['classification', 'average_heart_rate', 'sampling_frequency', 'voltages', 'voltage_times', 'voltage_unit', 'data', 'canonical'],
  type: { name: 'ecg' },
  fromRow: (row) => ({
    kind: 'ecg',
    type: 'ecg',
    ...base(row),
    classification: optionalStr(row.classification),
    averageHeartRate: optionalNum(row.average_heart_rate),
    samplingFrequency: optionalNum(row.sampling_frequency),
    voltages: row.voltages as number[],
    voltageTimes: row.voltage_times as (number | null)[],
    voltageUnit: optionalStr(row.voltage_unit),
    data: row.data as Record<string, unknown>,
    canonical: nullable<CanonicalValues>(row.canonical),
  }),
  toRow: (r) => ({
    start_at: iso(r.start),
    end_at: iso(r.end),
    source: r.source,
    classification: r.classification,
    average_heart_rate: r.averageHeartRate,
    sampling_frequency: r.samplingFrequency,
    voltages: r.voltages,
    voltage_times: r.voltageTimes,
    voltage_unit: r.voltageUnit,
    data: r.data,
    canonical: r.canonical,
  }),
};

/** Tables written through the generic chunked upsert (workouts have their own writer). */
export const TABLES = {
  quantity,
  heart_rate: heartRate,
  blood_pressure: bloodPressure,
  sleep_segment: sleepSegment,
  sleep_night: sleepNight,
  event,
  ecg,
} satisfies Record<Exclude<HealthRecord['kind'], 'workout'>, TableSpec<HealthRecord>>;

export type ChunkedKind = keyof typeof TABLES;
