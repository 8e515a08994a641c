/**
 * How each kind of record maps onto its table: the columns written, the identity
 * (conflict) key and the value columns compared to tell `updated` from `unchanged`.
 * Rows are plain objects serialised as JSON and expanded in SQL by json_to_recordset,
 * so a statement has the same few parameters whatever the chunk size.
 */
import type {
  BloodPressureRecord,
  EcgRecord,
  EventRecord,
  HealthRecord,
  HeartRateRecord,
  QuantityRecord,
  SleepNightRecord,
  SleepSegmentRecord,
} from '../../ingest/records.js';
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
  toRow(record: R): Row;
}

const iso = (date: Date) => date.toISOString();
/** end_at beside an already formatted start_at: most samples are instants, formatted once. */
const endIso = (r: { start: Date; end: Date }, startAt: string) => (r.end.getTime() === r.start.getTime() ? startAt : iso(r.end));
const identity = { user_id: 'uuid', ingestion_id: 'uuid' };

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
  toRow: (r) => {
    const start = iso(r.start);
    return { start_at: start, end_at: endIso(r, start), source: r.source, systolic: r.systolic, diastolic: r.diastolic, pulse: r.pulse };
  },
};

const sleepSegment: TableSpec<SleepSegmentRecord> = {
  table: 'sleep_segments',
  partitioned: 'sleep_segments',
  columns: { ...identity, start_at: 'timestamptz', end_at: 'timestamptz', source: 'text', stage: 'text', hours: 'float8' },
  key: ['user_id', 'start_at', 'end_at', 'source', 'stage'],
  values: ['hours'],
  toRow: (r) => ({ start_at: iso(r.start), end_at: iso(r.end), source: r.source, stage: r.stage, hours: r.hours }),
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
  key: ['user_id', 'night_date', 'source'],
  values: ['start_at', 'end_at', 'total_sleep', 'asleep', 'core', 'deep', 'rem', 'awake', 'in_bed', 'in_bed_start', 'in_bed_end'],
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
  columns: { ...identity, type: 'text', start_at: 'timestamptz', end_at: 'timestamptz', source: 'text', qualifier: 'text', data: 'jsonb' },
  key: ['user_id', 'type', 'start_at', 'end_at', 'source', 'qualifier'],
  values: ['data'],
  toRow: (r) => ({ type: r.type, start_at: iso(r.start), end_at: iso(r.end), source: r.source, qualifier: r.qualifier, data: r.data }),
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
  },
  key: ['user_id', 'start_at', 'end_at', 'source'],
  values: ['classification', 'average_heart_rate', 'sampling_frequency', 'voltages', 'voltage_times', 'voltage_unit', 'data'],
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
} satisfies Record<Exclude<HealthRecord['kind'], 'workout'>, TableSpec<never>>;

export type ChunkedKind = keyof typeof TABLES;
