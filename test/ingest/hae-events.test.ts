import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseHaeEcg,
  parseHaeHeartRateNotifications,
  parseHaeMedications,
  parseHaeSymptoms,
} from '../../src/ingest/hae/events.js';
import { parseHae } from '../../src/ingest/hae/parse.js';
import type { EcgRecord, EventRecord, HealthRecord, ParsedItem } from '../../src/ingest/records.js';
import { FIXTURES_DIR as fixtures } from '../helpers/fixtures.js';
import { defaultContext as context } from '../helpers/parse-context.js';



type Sent = Record<string, unknown>;

const body = JSON.parse(readFileSync(path.join(fixtures, 'other-data-types.json'), 'utf8')) as { data: Record<string, Sent[]> };
const sent = body.data;

function records(items: ParsedItem[]): HealthRecord[] {
  return items.map((item) => {
    if (!item.ok) throw new Error(`unexpected rejection: ${item.rejection.reason}`);
    return item.record;
  });
}

const parsed = records([...parseHae(body, context())]);
const byType = new Map(parsed.map((record) => [record.type, record]));
const event = (type: string): EventRecord => byType.get(type) as EventRecord;

/** Seconds since Apple's reference date, 2001-01-01T00:00:00Z. */
const appleSeconds = (seconds: number): Date => new Date(Date.UTC(2001, 0, 1) + seconds * 1000);

describe('the other arrays of other-data-types.json', () => {
  it('yields one record per entry, six in all, each under its by_type name', () => {
    expect(parsed).toHaveLength(6);
    expect(parsed.map((r) => r.type).sort()).toEqual(
      ['cycle_tracking', 'ecg', 'heart_rate_notifications', 'medications', 'state_of_mind', 'symptoms'],
    );
  });

  it('keeps each event as sent, with the field that tells same-time events apart as qualifier', () => {
    expect(event('state_of_mind')).toMatchObject({
      kind: 'event',
      qualifier: 'A1B2C3D4-0000-4000-8000-000000000001',
      start: new Date('2025-02-03T20:10:00Z'),
      source: '',
      data: sent.stateOfMind![0],
    });
    expect(event('symptoms')).toMatchObject({
      qualifier: 'Fatiga',
      source: 'iPhone',
      start: new Date('2025-02-03T08:00:00Z'),
      end: new Date('2025-02-03T11:00:00Z'),
      data: sent.symptoms![0],
    });
    expect(event('cycle_tracking')).toMatchObject({ qualifier: 'Menstrual Flow', data: sent.cycleTracking![0] });
  });

  it('gives a medication without an end its start as end', () => {
    const medication = event('medications');
    expect(medication.qualifier).toBe('Ibuprofen 200 mg');
    expect(medication.start).toEqual(new Date('2025-02-03T07:00:00Z'));
    expect(medication.end).toEqual(medication.start);
    expect(medication.data.status).toBe('Tomado');
  });

  it('reads a heart-rate notification: its kind, its object source, its instants', () => {
    const notification = event('heart_rate_notifications');
    expect(notification.qualifier).toBe('high_heart_rate_notification');
    expect(notification.source).toBe('Apple Watch');
    // The first reading is dated 760280400 s after 2001-01-01Z: the notification's start.
    expect(appleSeconds(760280400)).toEqual(new Date('2025-02-03T13:00:00Z'));
    expect(notification.start).toEqual(appleSeconds(760280400));
    expect(notification.end).toEqual(new Date('2025-02-03T13:10:00Z'));
    expect(notification.data.heartRateData).toHaveLength(10);
  });

  it('reads numeric notification dates as seconds since 2001-01-01Z', () => {
    const numeric = { ...sent.heartRateNotifications![0], start: 760280400, end: 760281000.5 };
    const [record] = records([...parseHaeHeartRateNotifications([numeric], context())]);
    expect(record!.start).toEqual(new Date('2025-02-03T13:00:00.000Z'));
    expect(record!.end).toEqual(new Date('2025-02-03T13:10:00.500Z'));
  });

  it('qualifies a notification of the documented form by its threshold', () => {
    const documented = { start: 760280400, end: 760281000, threshold: 120, heartRate: [] };
    const [withThreshold, bare] = records([...parseHaeHeartRateNotifications([documented, { start: 760280400 }], context())]);
    expect((withThreshold as EventRecord).qualifier).toBe('120');
    expect((bare as EventRecord).qualifier).toBe('');
  });

  it('reads an ECG: 600 voltages, their times as sent, the unit, the rest as data', () => {
    const ecg = byType.get('ecg') as EcgRecord;
    const points = sent.ecg![0]!.voltageMeasurements as Sent[];
    expect(ecg.kind).toBe('ecg');
    expect(ecg.voltages).toHaveLength(600);
    expect(ecg.voltages).toEqual(points.map((p) => p.voltage));
    expect(ecg.voltageTimes).toEqual(points.map((p) => p.date));
    expect(ecg.voltageTimes[0]).toBe(1188745353.99);
    expect(ecg.voltageUnit).toBe('mcV');
    expect(ecg).toMatchObject({
      classification: 'Ritmo sinusal',
      averageHeartRate: 72,
      samplingFrequency: 512,
      source: 'Apple Watch',
      start: new Date('2025-02-03T14:00:00Z'),
      end: new Date('2025-02-03T14:00:30Z'),
    });
    expect(ecg.data).not.toHaveProperty('voltageMeasurements');
    expect(ecg.data.numberOfVoltageMeasurements).toBe(600);
  });
});

describe('rejected events', () => {
  it('rejects an entry without a usable start, naming the array, index and field', () => {
    const items = [...parseHaeSymptoms([sent.symptoms![0], { name: 'Fatiga' }, { name: 'Tos', start: 'yesterday' }], context())];
    expect(items).toHaveLength(3);
    expect(items[0]!.ok).toBe(true);
    expect(rejection(items[1])).toMatchObject({ type: 'symptoms', reason: 'symptoms[1].start is missing', category: 'missing_field' });
    expect(rejection(items[2]).reason).toBe('symptoms[2].start "yesterday" is not a date this server understands');
  });

  it('rejects an end before the start', () => {
    const [item] = [...parseHaeMedications([{ displayText: 'x', start: '2025-02-03 08:00:00 +0100', end: '2025-02-03 07:00:00 +0100' }], context())];
    expect(rejection(item).reason).toContain('medications[0].end 2025-02-03T06:00:00.000Z is before start');
  });

  it('rejects an ECG whose voltage is not a number, naming the point', () => {
    const ecg = structuredClone(sent.ecg![0]!);
    (ecg.voltageMeasurements as Sent[])[17]!.voltage = true;
    const [item] = [...parseHaeEcg([ecg], context())];
    expect(rejection(item)).toMatchObject({ type: 'ecg', reason: 'ecg[0].voltageMeasurements[17].voltage must be a number, got boolean' });
  });

  it('rejects entries that are not objects, and an array field that is not an array', () => {
    const items = [...parseHaeSymptoms([null, 'Fatiga'], context())];
    expect(items.map((item) => rejection(item).reason)).toEqual([
      'symptoms[0] must be an object, got null',
      'symptoms[1] must be an object, got string',
    ]);
    expect(rejection([...parseHaeSymptoms({ name: 'Fatiga' }, context())][0]).reason).toBe(
      'data.symptoms must be an array, got object',
    );
  });
});

describe('parseHae', () => {
  it('refuses a body that is not an HAE payload', () => {
    expect(() => [...parseHae({ samples: [] }, context())]).toThrow(TypeError);
  });

  it('counts the entries of an array it does not know as rejections rather than dropping them', () => {
    const items = [...parseHae({ data: { workouts: [], futureThings: [{ a: 1 }, { a: 2 }], version: 3 } }, context())];
    expect(items).toHaveLength(2);
    expect(items.map((item) => rejection(item))).toEqual([
      expect.objectContaining({ type: 'futureThings', reason: expect.stringContaining('futureThings[0]'), sample: { a: 1 } }),
      expect.objectContaining({ type: 'futureThings', reason: expect.stringContaining('futureThings[1]'), sample: { a: 2 } }),
    ]);
  });
});

function rejection(item: ParsedItem | undefined) {
  if (!item || item.ok) throw new Error('expected a rejection');
  return item.rejection;
}
