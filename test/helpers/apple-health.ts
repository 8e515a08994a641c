/**
 * Hand-made Apple Health exports: an export.xml holding one of each element the
 * import reads, the files a zip carries beside it (GPX routes, an ECG CSV,
 * export_cda.xml), and zips built with Info-ZIP's `zip` (zip64 on request).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const WATCH = 'Arun’s Apple\u00a0Watch';
const at = (time: string) => `2024-03-13 ${time} +0100`;

/** `<Record>` with export.xml's attributes; `inner` is its child elements. */
export function record(type: string, attributes: Record<string, string>, inner = ''): string {
  const attrs = Object.entries({ type, sourceName: WATCH, sourceVersion: '10.3', device: '&lt;&lt;HKDevice: 0x2837f1e40&gt;, name:Apple Watch&gt;', creationDate: at('12:00:00'), ...attributes })
    .map(([name, value]) => `${name}="${value}"`)
    .join(' ');
  return inner ? `<Record ${attrs}>\n${inner}\n </Record>` : `<Record ${attrs}/>`;
}

export const ROUTE_FILE = 'workout-routes/route_2024-03-13_7.00am.gpx';
export const ORPHAN_ROUTE_FILE = 'workout-routes/route_2024-03-10_6.00pm.gpx';

/** The export.xml of the tests: every kind of element, with the values the tests compare. */
export function exportXml(extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate value CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2024-03-20 10:00:00 +0100"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-01-01" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexNotSet"/>
 ${record('HKQuantityTypeIdentifierHeartRate', { unit: 'count/min', startDate: at('08:00:00'), endDate: at('08:00:00'), value: '72' }, '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>')}
 ${record('HKQuantityTypeIdentifierStepCount', { sourceName: 'iPhone', unit: 'count', startDate: at('09:00:00'), endDate: at('09:10:00'), value: '1200' })}
 ${record('HKQuantityTypeIdentifierDistanceWalkingRunning', { sourceName: 'iPhone', unit: 'km', startDate: at('09:00:00'), endDate: at('09:10:00'), value: '0.9' })}
 ${record('HKQuantityTypeIdentifierActiveEnergyBurned', { unit: 'kcal', startDate: at('09:00:00'), endDate: at('09:01:00'), value: '12.5' })}
 ${record('HKQuantityTypeIdentifierBasalEnergyBurned', { unit: 'kJ', startDate: at('09:00:00'), endDate: at('09:30:00'), value: '418.4' })}
 ${record('HKQuantityTypeIdentifierOxygenSaturation', { unit: '%', startDate: at('03:00:00'), endDate: at('03:00:00'), value: '0.97' })}
 ${record(
   'HKQuantityTypeIdentifierHeartRateVariabilitySDNN',
   { unit: 'ms', startDate: at('08:00:00'), endDate: at('08:01:00'), value: '45.5' },
   '  <HeartRateVariabilityMetadataList>\n   <InstantaneousBeatsPerMinute bpm="62" time="8:00:01.23 AM"/>\n   <InstantaneousBeatsPerMinute bpm="64" time="8:00:02.18 AM"/>\n  </HeartRateVariabilityMetadataList>',
 )}
 ${record('HKQuantityTypeIdentifierHeadphoneAudioExposure', { sourceName: 'AirPods', unit: 'dBASPL', startDate: at('10:00:00'), endDate: at('10:30:00'), value: '71.2' })}
 ${record('HKQuantityTypeIdentifierBodyMass', { sourceName: 'Scale', unit: 'lb', startDate: at('07:00:00'), endDate: at('07:00:00'), value: '154.3' }, '  <MetadataEntry key="HKWasUserEntered" value="1"/>')}
 ${record('HKQuantityTypeIdentifierFutureThing', { unit: 'zz', startDate: at('11:00:00'), endDate: at('11:00:00'), value: '3' })}
 ${record('HKQuantityTypeIdentifierHeartRate', { unit: 'count/min', startDate: at('08:05:00'), endDate: at('08:05:00'), value: '500' })}
 ${record('HKCategoryTypeIdentifierSleepAnalysis', { startDate: '2024-03-12 23:00:00 +0100', endDate: at('06:30:00'), value: 'HKCategoryValueSleepAnalysisInBed' })}
 ${record('HKCategoryTypeIdentifierSleepAnalysis', { startDate: '2024-03-12 23:10:00 +0100', endDate: at('01:10:00'), value: 'HKCategoryValueSleepAnalysisAsleepCore' })}
 ${record('HKCategoryTypeIdentifierSleepAnalysis', { startDate: at('01:10:00'), endDate: at('02:00:00'), value: 'HKCategoryValueSleepAnalysisAsleepDeep' })}
 ${record('HKCategoryTypeIdentifierSleepAnalysis', { startDate: at('02:00:00'), endDate: at('02:05:00'), value: 'HKCategoryValueSleepAnalysisAwake' })}
 ${record('HKCategoryTypeIdentifierAppleStandHour', { startDate: at('09:00:00'), endDate: at('10:00:00'), value: 'HKCategoryValueAppleStandHourStood' })}
 ${record('HKCategoryTypeIdentifierMindfulSession', { sourceName: 'Breathe', startDate: at('12:00:00'), endDate: at('12:10:00'), value: 'HKCategoryValueNotApplicable' })}
 ${record('HKCategoryTypeIdentifierHighHeartRateEvent', { startDate: at('14:00:00'), endDate: at('14:10:00'), value: 'HKCategoryValueNotApplicable' }, '  <MetadataEntry key="HKHeartRateEventThreshold" value="120 count/min"/>')}
 ${record('HKCategoryTypeIdentifierHeadphoneAudioExposureEvent', { sourceName: 'AirPods', startDate: at('15:00:00'), endDate: at('15:00:00'), value: 'HKCategoryValueHeadphoneAudioExposureEventSevenDayLimit' })}
 ${record('HKQuantityTypeIdentifierBloodPressureSystolic', { sourceName: 'Omron', unit: 'mmHg', startDate: at('07:30:00'), endDate: at('07:30:00'), value: '121' })}
 ${record('HKQuantityTypeIdentifierBloodPressureDiastolic', { sourceName: 'Omron', unit: 'mmHg', startDate: at('07:30:00'), endDate: at('07:30:00'), value: '79' })}
 ${record('HKQuantityTypeIdentifierBloodPressureSystolic', { sourceName: 'Omron', unit: 'mmHg', startDate: at('19:30:00'), endDate: at('19:30:00'), value: '131' })}
 <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" sourceVersion="1" creationDate="${at('07:31:00')}" startDate="${at('07:30:00')}" endDate="${at('07:30:00')}">
  <MetadataEntry key="HKWasUserEntered" value="0"/>
  ${record('HKQuantityTypeIdentifierBloodPressureSystolic', { sourceName: 'Omron', unit: 'mmHg', startDate: at('07:30:00'), endDate: at('07:30:00'), value: '121' })}
  ${record('HKQuantityTypeIdentifierBloodPressureDiastolic', { sourceName: 'Omron', unit: 'mmHg', startDate: at('07:30:00'), endDate: at('07:30:00'), value: '79' })}
 </Correlation>
 <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="MyFitnessPal" sourceVersion="1" creationDate="${at('12:31:00')}" startDate="${at('12:30:00')}" endDate="${at('12:30:00')}">
  <MetadataEntry key="HKFoodType" value="Apple"/>
  ${record('HKQuantityTypeIdentifierDietaryEnergyConsumed', { sourceName: 'MyFitnessPal', unit: 'kcal', startDate: at('12:30:00'), endDate: at('12:30:00'), value: '95' })}
  ${record('HKQuantityTypeIdentifierDietaryCarbohydrates', { sourceName: 'MyFitnessPal', unit: 'g', startDate: at('12:30:00'), endDate: at('12:30:00'), value: '25' })}
 </Correlation>
 <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" durationUnit="min" sourceName="${WATCH}" sourceVersion="10.3" device="&lt;&lt;HKDevice: 0x1&gt;&gt;" creationDate="${at('07:31:00')}" startDate="${at('07:00:00')}" endDate="${at('07:30:00')}">
  <MetadataEntry key="HKIndoorWorkout" value="0"/>
  <WorkoutEvent type="HKWorkoutEventTypePause" date="${at('07:10:00')}" duration="1" durationUnit="min"/>
  <WorkoutEvent type="HKWorkoutEventTypeResume" date="${at('07:11:00')}"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" startDate="${at('07:00:00')}" endDate="${at('07:30:00')}" sum="300" unit="kcal"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierBasalEnergyBurned" startDate="${at('07:00:00')}" endDate="${at('07:30:00')}" sum="40" unit="kcal"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning" startDate="${at('07:00:00')}" endDate="${at('07:30:00')}" sum="5.2" unit="km"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="${at('07:00:00')}" endDate="${at('07:30:00')}" average="150" minimum="100" maximum="175" unit="count/min"/>
  <WorkoutRoute sourceName="${WATCH}" sourceVersion="10.3" creationDate="${at('07:31:00')}" startDate="${at('07:00:00')}" endDate="${at('07:30:00')}">
   <MetadataEntry key="HKMetadataKeySyncVersion" value="2"/>
   <FileReference path="/${ROUTE_FILE}"/>
  </WorkoutRoute>
 </Workout>
 <Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="45" durationUnit="min" totalDistance="3.1" totalDistanceUnit="km" totalEnergyBurned="150" totalEnergyBurnedUnit="kcal" sourceName="${WATCH}" creationDate="${at('18:46:00')}" startDate="${at('18:00:00')}" endDate="${at('18:45:00')}"/>
 <ActivitySummary dateComponents="2024-03-13" activeEnergyBurned="450" activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="kcal" appleMoveTime="0" appleMoveTimeGoal="0" appleExerciseTime="35" appleExerciseTimeGoal="30" appleStandHours="11" appleStandHoursGoal="12"/>
 <ClinicalRecord type="HKClinicalTypeIdentifierLabResultRecord" identifier="abc" sourceName="Hospital" fhirVersion="4.0.1" receivedDate="${at('12:00:00')}" resourceFilePath="/clinical-records/abc.json"/>
${extra}</HealthData>
`;
}

export function gpx(points: { lat: number; lon: number; ele: number; time: string; speed: number }[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Apple Health Export" xmlns="http://www.topografix.com/GPX/1/1">
 <metadata><time>2024-03-20T09:00:00Z</time></metadata>
 <trk><name>Route</name><trkseg>
${points.map((p) => `  <trkpt lon="${p.lon}" lat="${p.lat}"><ele>${p.ele}</ele><time>${p.time}</time><extensions><speed>${p.speed}</speed><course>-1.0</course><hAcc>2.5</hAcc><vAcc>1.8</vAcc></extensions></trkpt>`).join('\n')}
 </trkseg></trk>
</gpx>
`;
}

export const ROUTE_POINTS = [
  { lat: 52.52, lon: 13.405, ele: 34.1, time: '2024-03-13T06:00:05Z', speed: 2.9 },
  { lat: 52.521, lon: 13.406, ele: 34.6, time: '2024-03-13T06:00:10Z', speed: 3.1 },
  { lat: 52.522, lon: 13.407, ele: 35.2, time: '2024-03-13T06:00:15Z', speed: -1 },
];

export const ORPHAN_POINTS = [
  { lat: 48.85, lon: 2.35, ele: 30, time: '2024-03-10T17:00:00Z', speed: 1.2 },
  { lat: 48.851, lon: 2.351, ele: 31, time: '2024-03-10T17:05:00Z', speed: 1.3 },
];

export const ECG_FILE = 'electrocardiograms/ecg_2024-03-13.csv';
export const ECG_VOLTAGES = [-12.345, 15.5, 120.25, -3];

export function ecgCsv(): string {
  return [
    'Name,Arun Example',
    'Date of Birth,"Jan 1, 1980"',
    'Recorded Date,2024-03-13 16:00:00 +0100',
    'Classification,Sinus Rhythm',
    'Symptoms,',
    'Software Version,2',
    'Device,"Watch6,2"',
    'Sample Rate,512 hertz',
    'Lead,Lead I',
    'Unit,µV',
    '',
    ...ECG_VOLTAGES.map(String),
    '',
  ].join('\n');
}

/** A zip of `files` (paths inside the zip → contents) written by Info-ZIP; `zip64` forces zip64 records. */
export async function buildZip(files: Record<string, string | Buffer>, options: { zip64?: boolean } = {}): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'apple-export-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
    const target = path.join(dir, 'export.zip');
    await run('zip', ['-q', '-r', ...(options.zip64 ? ['-fz'] : []), target, ...Object.keys(files)], { cwd: dir, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    return await readFile(target);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The whole export as the Health app zips it, export.xml under the given (localized) name. */
export function exportZip(xmlName = 'export.xml', options: { zip64?: boolean } = {}): Promise<Buffer> {
  return buildZip(
    {
      [`apple_health_export/${xmlName}`]: exportXml(),
      'apple_health_export/export_cda.xml': '<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Health</title></ClinicalDocument>\n',
      [`apple_health_export/${ROUTE_FILE}`]: gpx(ROUTE_POINTS),
      [`apple_health_export/${ORPHAN_ROUTE_FILE}`]: gpx(ORPHAN_POINTS),
      [`apple_health_export/${ECG_FILE}`]: ecgCsv(),
    },
    options,
  );
}
