/**
 * Seeded generator of Apple Health export.xml files of any size, written as a
 * stream (a 1 GB file never sits in memory): a day after day of what a watch and
 * a phone record, with the element shapes the import reads: heart rate with
 * motion context every few minutes, steps, distance and active energy in short
 * intervals, basal energy, HRV with its beat list, raw sleep stages, a blood
 * pressure correlation with its two top-level copies, a workout, the day's rings.
 *
 *   npx tsx bench/apple-health-export.ts <out.xml> <megabytes> [seed]
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { random } from './generate.js';

export interface GeneratedExport {
  bytes: number;
  /** Samples the import counts (`counts.received`): blood pressure's top-level copies are not samples. */
  samples: number;
}

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;

function date(ms: number): string {
  // export.xml writes local time with its offset; this file uses +0100 throughout.
  const local = new Date(ms + 60 * MINUTE).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)} +0100`;
}

const WATCH = 'Arun’s Apple\u00a0Watch';
const DEVICE = '&lt;&lt;HKDevice: 0x283c7e580&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.3&gt;';

function record(type: string, source: string, unit: string, start: number, end: number, value: string, inner = ''): string {
  const head = `<Record type="${type}" sourceName="${source}" sourceVersion="10.3" device="${DEVICE}" unit="${unit}" creationDate="${date(end)}" startDate="${date(start)}" endDate="${date(end)}" value="${value}"`;
  return inner ? ` ${head}>\n${inner} </Record>\n` : ` ${head}/>\n`;
}

/** One day's elements, and how many samples the import will count for them. */
function day(start: number, next: () => number): { xml: string; samples: number } {
  const parts: string[] = [];
  let samples = 0;
  for (let m = 0; m < 1440; m += 4) {
    const t = start + m * MINUTE;
    parts.push(record('HKQuantityTypeIdentifierHeartRate', WATCH, 'count/min', t, t, String(55 + Math.round(next() * 60)), '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>\n'));
    samples += 1;
    if (m % 8 === 0 && m >= 420 && m < 1320) {
      const end = t + 8 * MINUTE;
      parts.push(record('HKQuantityTypeIdentifierStepCount', 'iPhone', 'count', t, end, String(Math.round(next() * 900))));
      parts.push(record('HKQuantityTypeIdentifierDistanceWalkingRunning', 'iPhone', 'km', t, end, (next() * 0.6).toFixed(5)));
      parts.push(record('HKQuantityTypeIdentifierActiveEnergyBurned', WATCH, 'kcal', t, end, (next() * 40).toFixed(3)));
      samples += 3;
    }
    if (m % 60 === 0) {
      parts.push(record('HKQuantityTypeIdentifierBasalEnergyBurned', WATCH, 'kcal', t, t + 60 * MINUTE, (60 + next() * 10).toFixed(3)));
      samples += 1;
    }
  }
  const hrv = start + 300 * MINUTE;
  const beats = Array.from({ length: 60 }, (_, i) => `   <InstantaneousBeatsPerMinute bpm="${58 + Math.round(next() * 10)}" time="5:00:${String(i).padStart(2, '0')}.12 AM"/>\n`).join('');
  parts.push(record('HKQuantityTypeIdentifierHeartRateVariabilitySDNN', WATCH, 'ms', hrv, hrv + MINUTE, (30 + next() * 40).toFixed(3), `  <HeartRateVariabilityMetadataList>\n${beats}  </HeartRateVariabilityMetadataList>\n`));
  samples += 1;
  const stages = ['AsleepCore', 'AsleepDeep', 'AsleepCore', 'AsleepREM', 'Awake', 'AsleepCore', 'AsleepREM'];
  let t = start - 60 * MINUTE;
  for (const stage of stages) {
    const end = t + Math.round(20 + next() * 60) * MINUTE;
    parts.push(record('HKCategoryTypeIdentifierSleepAnalysis', WATCH, '', t, end, `HKCategoryValueSleepAnalysis${stage}`).replace(' unit=""', ''));
    samples += 1;
    t = end;
  }
  const bp = start + 450 * MINUTE;
  const systolic = record('HKQuantityTypeIdentifierBloodPressureSystolic', 'Omron', 'mmHg', bp, bp, String(110 + Math.round(next() * 20)));
  const diastolic = record('HKQuantityTypeIdentifierBloodPressureDiastolic', 'Omron', 'mmHg', bp, bp, String(70 + Math.round(next() * 10)));
  parts.push(systolic, diastolic, ` <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" sourceVersion="1" creationDate="${date(bp)}" startDate="${date(bp)}" endDate="${date(bp)}">\n ${systolic} ${diastolic} </Correlation>\n`);
  samples += 1;
  const w = start + 1080 * MINUTE;
  const we = w + 40 * MINUTE;
  parts.push(` <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="40" durationUnit="min" sourceName="${WATCH}" sourceVersion="10.3" device="${DEVICE}" creationDate="${date(we)}" startDate="${date(w)}" endDate="${date(we)}">
  <MetadataEntry key="HKIndoorWorkout" value="0"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" startDate="${date(w)}" endDate="${date(we)}" sum="${(300 + next() * 200).toFixed(2)}" unit="kcal"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning" startDate="${date(w)}" endDate="${date(we)}" sum="${(5 + next() * 3).toFixed(3)}" unit="km"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="${date(w)}" endDate="${date(we)}" average="150" minimum="100" maximum="175" unit="count/min"/>
 </Workout>\n`);
  samples += 1;
  parts.push(` <ActivitySummary dateComponents="${new Date(start).toISOString().slice(0, 10)}" activeEnergyBurned="${(400 + next() * 300).toFixed(2)}" activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="kcal" appleMoveTime="0" appleMoveTimeGoal="0" appleExerciseTime="35" appleExerciseTimeGoal="30" appleStandHours="11" appleStandHoursGoal="12"/>\n`);
  samples += 1;
  return { xml: parts.join(''), samples };
}

/** Writes an export.xml of at least `megabytes` MiB to `file`, days going back from 2024-03-01. */
export async function writeAppleHealthExport(file: string, megabytes: number, seed = 19): Promise<GeneratedExport> {
  const next = random(seed);
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
    return Buffer.byteLength(text);
  };
  let bytes = await write(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2024-03-01 10:00:00 +0100"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-01-01" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexNotSet"/>
`);
  let samples = 0;
  const target = megabytes * 1024 * 1024;
  // Oldest first, as the Health app writes them; the start is chosen so the last day is 2024-02-29.
  const perDay = Buffer.byteLength(day(Date.UTC(2024, 1, 29), random(seed)).xml);
  const days = Math.max(1, Math.ceil(target / perDay));
  for (let d = days; d >= 1; d--) {
    const generated = day(Date.UTC(2024, 2, 1) - d * DAY, next);
    bytes += await write(generated.xml);
    samples += generated.samples;
  }
  bytes += await write('</HealthData>\n');
  out.end();
  await once(out, 'close');
  return { bytes, samples };
}

if (process.argv[1]?.endsWith('apple-health-export.ts')) {
  const [file, megabytes, seed] = process.argv.slice(2);
  if (!file || !megabytes) {
    process.stderr.write('usage: npx tsx bench/apple-health-export.ts <out.xml> <megabytes> [seed]\n');
    process.exit(2);
  }
  const generated = await writeAppleHealthExport(file, Number(megabytes), seed ? Number(seed) : undefined);
  process.stdout.write(`wrote ${file}: ${generated.bytes} bytes, ${generated.samples} samples\n`);
}
