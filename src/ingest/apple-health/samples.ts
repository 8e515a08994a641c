/**
 * export.xml's samples (`Record`, `Correlation`, `ActivitySummary`) as the
 * normalised records the app's JSON becomes. Each element is rewritten into the
 * point the app would send for it and read by the same point parsers
 * (hae/metrics.ts), so names, units, plausibility and identities are the app's.
 * What the app's point has no field for (MetadataEntry, heart-rate-variability
 * beats, a food's name) is kept in the record's `extra`.
 */
import { metricPointParser } from '../hae/metrics.js';
import { parseHaeDate } from '../dates.js';
import type { EventRecord, HealthRecord, ParseContext, ParsedItem, ValidationCategory } from '../records.js';
import { checkOrder, isProblem, readOptionalTime, readTime, type Read } from '../sample-fields.js';
import type { XmlElement } from './xml.js';
import {
  BLOOD_PRESSURE,
  DIASTOLIC,
  FRACTION_PERCENT,
  HEART_RATE_EVENTS,
  SYSTOLIC,
  categoryValue,
  isCategory,
  metricNameFor,
} from './types.js';

type PointParser = (point: Record<string, unknown>, ctx: ParseContext) => Read<HealthRecord>;

/** HealthKit's metadata codes, written as the app writes the same fields. */
const MOTION_CONTEXT: Record<string, string> = { '0': 'Not Set', '1': 'Sedentary', '2': 'Active' };
const MEAL_TIME: Record<string, string> = { '1': 'Before Meal', '2': 'After Meal' };
const INSULIN_REASON: Record<string, string> = { '1': 'Basal', '2': 'Bolus' };

export class SampleMapper {
  private readonly parsers = new Map<string, PointParser>();

  constructor(private readonly ctx: ParseContext) {}

  private parser(name: string, unit: string): PointParser {
    const key = `${name}\u0000${unit}`;
    let parser = this.parsers.get(key);
    if (!parser) this.parsers.set(key, (parser = metricPointParser(name, unit)));
    return parser;
  }

  /** One top-level `Record`. */
  record(element: XmlElement): ParsedItem {
    const a = element.attributes;
    const identifier = a.type ?? '';
    if (identifier === '') return rejected('unknown', 'Record has no type attribute', 'missing_field', element);
    const kind = HEART_RATE_EVENTS.get(identifier);
    if (kind !== undefined) return this.heartRateEvent(element, kind);
    const name = metricNameFor(identifier);
    const metadata = metadataOf(element);
    const point: Record<string, unknown> = { startDate: a.startDate, endDate: a.endDate, source: a.sourceName ?? '' };
    let unit = a.unit ?? '';
    if (isCategory(identifier)) {
      unit = this.categoryPoint(name, identifier, element, point, metadata);
    } else {
      const qty = Number(a.value);
      // HealthKit's percent is a fraction; the app sends percents.
      point.qty = unit === FRACTION_PERCENT && Number.isFinite(qty) ? qty * 100 : a.value;
      if (name === 'heart_rate') point.context = MOTION_CONTEXT[metadata?.HKMetadataKeyHeartRateMotionContext ?? ''];
      if (name === 'blood_glucose') point.mealTime = MEAL_TIME[metadata?.HKMetadataKeyBloodGlucoseMealTime ?? ''];
      if (name === 'insulin_delivery') point.reason = INSULIN_REASON[metadata?.HKMetadataKeyInsulinDeliveryReason ?? ''];
    }
    const record = this.parser(name, unit)(point, this.ctx);
    if (isProblem(record)) return rejected(name, `Record ${identifier} at ${a.startDate ?? '?'}: ${record.reason}`, record.category, element);
    // A category the app does not send keeps its value as written (HKCategoryValue…).
    const value = isCategory(identifier) && name === identifier ? (a.value ?? null) : null;
    keepExtra(record, { ...(metadata ? { metadata } : {}), ...(value !== null ? { value } : {}), ...beatsOf(element) });
    return { ok: true, record };
  }

  /**
   * A category sample as the app's point: sleep stages by name, a stood hour as
   * 1 (idle 0), a mindful session as its minutes, a sexual activity as one count;
   * a category the app does not send is one occurrence under its identifier,
   * its value kept in `extra`. Returns the unit the point is in.
   */
  private categoryPoint(
    name: string,
    identifier: string,
    element: XmlElement,
    point: Record<string, unknown>,
    metadata: Record<string, string> | null,
  ): string {
    const value = categoryValue(element.attributes.value ?? '', identifier);
    switch (name) {
      case 'sleep_analysis':
        point.value = value;
        return 'hr';
      case 'apple_stand_hour':
        point.qty = value === 'Stood' ? 1 : 0;
        return 'count';
      case 'mindful_minutes': {
        const start = parseHaeDate(element.attributes.startDate);
        const end = parseHaeDate(element.attributes.endDate);
        if (start && end) point.qty = (end.instant.getTime() - start.instant.getTime()) / 60_000;
        return 'min';
      }
      case 'sexual_activity': {
        const used = metadata?.HKMetadataKeySexualActivityProtectionUsed;
        point[used === '1' ? 'Protection Used' : used === '0' ? 'Protection Not Used' : 'Unspecified'] = 1;
        return 'count';
      }
      default:
        point.qty = 1;
        point.value = value;
        return 'count';
    }
  }

  /** High, low and irregular heart-rate notifications: the app's `heartRateNotifications`. */
  private heartRateEvent(element: XmlElement, kind: string): ParsedItem {
    const a = element.attributes;
    const metadata = metadataOf(element);
    const data: Record<string, unknown> = {
      heartNotification: kind,
      start: a.startDate,
      end: a.endDate,
      source: a.sourceName ?? '',
      ...(metadata?.HKHeartRateEventThreshold !== undefined ? { threshold: metadata.HKHeartRateEventThreshold } : {}),
      ...(metadata ? { metadata } : {}),
    };
    const times = readInterval(a, this.ctx);
    if (isProblem(times)) return rejected('heart_rate_notifications', `Record ${a.type} at ${a.startDate ?? '?'}: ${times.reason}`, times.category, element);
    const record: EventRecord = {
      kind: 'event',
      type: 'heart_rate_notifications',
      start: times.start,
      end: times.end,
      source: a.sourceName ?? '',
      raw: element,
      qualifier: kind,
      data,
      canonical: null,
    };
    return { ok: true, record };
  }

  /**
   * A blood-pressure correlation: one `blood_pressure` reading from its systolic and
   * diastolic Records. A correlation missing either is rejected, naming what is missing.
   */
  bloodPressure(element: XmlElement): ParsedItem {
    const a = element.attributes;
    const systolic = element.children.find((child) => child.name === 'Record' && child.attributes.type === SYSTOLIC);
    const diastolic = element.children.find((child) => child.name === 'Record' && child.attributes.type === DIASTOLIC);
    const point = {
      startDate: a.startDate,
      endDate: a.endDate,
      source: a.sourceName ?? '',
      systolic: systolic?.attributes.value,
      diastolic: diastolic?.attributes.value,
    };
    const record = this.parser('blood_pressure', systolic?.attributes.unit ?? 'mmHg')(point, this.ctx);
    if (isProblem(record)) return rejected('blood_pressure', `Correlation ${BLOOD_PRESSURE} at ${a.startDate ?? '?'}: ${record.reason}`, record.category, element);
    return { ok: true, record };
  }

  /** A food correlation: its nutrients, each a sample, with the food's metadata (its name) beside each. */
  food(element: XmlElement): ParsedItem[] {
    const food = metadataOf(element);
    return element.children
      .filter((child) => child.name === 'Record')
      .map((child) => {
        const item = this.record(child);
        if (item.ok && item.record.kind === 'quantity' && food) item.record.extra = { ...item.record.extra, food };
        return item;
      });
  }

  /** The rings of one day, as one `activity_summary` sample: active energy as its value, every ring and goal in `extra`. */
  activitySummary(element: XmlElement): ParsedItem {
    const a = element.attributes;
    const unit = a.activeEnergyBurnedUnit ?? 'kcal';
    const record = this.parser('activity_summary', unit)({ date: a.dateComponents, qty: a.activeEnergyBurned ?? '0' }, this.ctx);
    if (isProblem(record)) return rejected('activity_summary', `ActivitySummary ${a.dateComponents ?? '?'}: ${record.reason}`, record.category, element);
    if (record.kind === 'quantity') {
      const rings: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(a)) {
        if (key === 'dateComponents') continue;
        const number = Number(value);
        rings[key] = value !== '' && Number.isFinite(number) ? number : value;
      }
      record.extra = rings;
    }
    return { ok: true, record };
  }
}

/** The Records a blood-pressure correlation holds, as keys of the top-level copies export.xml also writes. */
export function correlationMemberKey(record: XmlElement): string {
  const a = record.attributes;
  return `${a.type}\u0000${a.sourceName}\u0000${a.startDate}\u0000${a.endDate}\u0000${a.value}`;
}

export function isBloodPressureMember(element: XmlElement): boolean {
  const type = element.attributes.type;
  return type === SYSTOLIC || type === DIASTOLIC;
}

/** `MetadataEntry` children as one object; null when there are none. */
export function metadataOf(element: XmlElement): Record<string, string> | null {
  let metadata: Record<string, string> | null = null;
  for (const child of element.children) {
    if (child.name === 'MetadataEntry' && child.attributes.key !== undefined) (metadata ??= {})[child.attributes.key] = child.attributes.value ?? '';
  }
  return metadata;
}

/** The beat-to-beat list of a heart-rate-variability Record: `[{bpm, time}]`, times as written. */
function beatsOf(element: XmlElement): { beats?: { bpm: number; time: string }[] } {
  const list = element.children.find((child) => child.name === 'HeartRateVariabilityMetadataList');
  if (!list) return {};
  const beats = list.children
    .filter((child) => child.name === 'InstantaneousBeatsPerMinute')
    .map((child) => ({ bpm: Number(child.attributes.bpm), time: child.attributes.time ?? '' }));
  return { beats };
}

/** What the app's point has no field for, added to the record's `extra`. */
function keepExtra(record: HealthRecord, kept: Record<string, unknown>): void {
  if (record.kind !== 'quantity' || Object.keys(kept).length === 0) return;
  record.extra = { ...record.extra, ...kept };
}

/** startDate (required) and endDate (the start when absent), in order and inside the configured window. */
export function readInterval(attributes: Record<string, string>, ctx: ParseContext): Read<{ start: Date; end: Date }> {
  const start = readTime(attributes, 'startDate', ctx);
  if (isProblem(start)) return start;
  const end = readOptionalTime(attributes, 'endDate', ctx);
  if (isProblem(end)) return end;
  const ordered = checkOrder(start.instant, end?.instant ?? null);
  return isProblem(ordered) ? ordered : { start: start.instant, end: ordered };
}

export function rejected(type: string, reason: string, category: ValidationCategory, element: XmlElement): ParsedItem {
  return { ok: false, rejection: { type, reason, category, sample: sampleOf(element) } };
}

/** An element as JSON for a kept rejection: its attributes, and its children's. */
function sampleOf(element: XmlElement): Record<string, unknown> {
  return {
    element: element.name,
    ...element.attributes,
    ...(element.children.length > 0 ? { children: element.children.map(sampleOf) } : {}),
  };
}
