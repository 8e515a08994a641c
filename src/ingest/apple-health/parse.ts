/**
 * Apple Health's "Export All Health Data": an export.zip, or its export.xml
 * alone, read as a stream into the same ParsedItems as the app's JSON.
 *
 * In a zip, the XML is the entry under apple_health_export/ whose root is
 * <HealthData>, whatever its (localized) name. Workouts that reference a GPX
 * route wait (without their points: a few KB each) until the XML is read; then
 * the routes are read and each workout is handed over with its route. ECG CSVs
 * follow. Everything else in the zip (export_cda.xml's clinical records, files
 * this server does not read) is reported as one rejection per file: it stays in
 * the archived upload, counted, not imported.
 *
 * Blood pressure: export.xml writes each reading as a Correlation and its two
 * Records again at the top level. The top-level copies wait until the end (they
 * are few) and only those no correlation holds are stored, under their
 * identifiers; so a reading is stored once, as `blood_pressure`.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../shared/errors.js';
import type { BodySource } from '../body.js';
import type { ParsedBatch } from '../parse-thread.js';
import type { ParseContext, ParsedItem, WorkoutRecord } from '../records.js';
import { parseEcgCsv } from './ecg.js';
import { BLOOD_PRESSURE } from './types.js';
import { SampleMapper, correlationMemberKey, isBloodPressureMember, rejected } from './samples.js';
import { finishWorkout, isParsedWorkout, orphanRoute, parseWorkout, readGpx } from './workouts.js';
import { NotHealthData, readElements, rootElement, type XmlElement } from './xml.js';
import { isZip, openZip, type ZipEntry } from './zip.js';

/** How far the import has read, in bytes of the body. */
interface ReadPosition {
  bytesDone: number;
}

const EXPORT_FOLDER = 'apple_health_export/';
const NOT_SAMPLES = new Set(['ExportDate', 'Me']);
const NOT_IMPORTED = 'files';
/** Clinical records (export_cda.xml, ClinicalRecord elements): counted under one type, not imported. */
const CLINICAL = 'clinical_records';

/** Samples per batch handed to processBody. */
const BATCH_ITEMS = 1000;

/**
 * An export in the shape processBody reads an upload in (see parseOffThread): the
 * format first, then the samples a batch at a time with how far into the body they
 * are. Read on the calling thread, as it streams: the XML needs no whole-body check.
 */
export async function* appleHealthBatches(body: BodySource, ctx: ParseContext): AsyncGenerator<'apple_health' | ParsedBatch> {
  yield 'apple_health';
  const position: ReadPosition = { bytesDone: 0 };
  let items: ParsedItem[] = [];
  for await (const item of parseAppleHealth(body, await firstBytes(body), ctx, position)) {
    items.push(item);
    if (items.length < BATCH_ITEMS) continue;
    yield { items, bytesDone: position.bytesDone };
    items = [];
  }
  if (items.length > 0) yield { items, bytesDone: position.bytesDone };
}

/** Enough of the body's start to tell a zip from XML. */
async function firstBytes(body: BodySource): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body.open()) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= 64) break;
  }
  return Buffer.concat(chunks);
}

async function* parseAppleHealth(body: BodySource, head: Buffer, ctx: ParseContext, position: ReadPosition): AsyncGenerator<ParsedItem> {
  const reader = new ExportReader(ctx, position);
  if (isZip(head)) {
    yield* reader.zip(body);
    return;
  }
  try {
    yield* reader.xml(counted(body.open(), position), 'the body');
  } catch (error) {
    if (error instanceof NotHealthData) throw new AppError('UNPROCESSABLE_PAYLOAD', `the body is neither export.zip nor Apple Health's export.xml: ${error.message}`);
    throw error;
  }
  yield* reader.leftovers();
}

class ExportReader {
  private readonly mapper: SampleMapper;
  /** Top-level copies of blood-pressure Records not (yet) met in a correlation. */
  private readonly pressureRecords = new Map<string, XmlElement>();
  /** Members of correlations whose top-level copies have not been met yet. */
  private readonly pressureMembers = new Set<string>();
  /** Workouts waiting for their GPX file, by its path inside apple_health_export/. */
  private readonly awaitingRoute = new Map<string, WorkoutRecord[]>();

  constructor(
    private readonly ctx: ParseContext,
    private readonly position: ReadPosition,
  ) {
    this.mapper = new SampleMapper(ctx);
  }

  async *zip(body: BodySource): AsyncGenerator<ParsedItem> {
    const zip = await openZip(body);
    try {
      const entries = [...zip.entries].sort((a, b) => a.offset - b.offset);
      const track = (stream: Readable) => tracked(stream, () => (this.position.bytesDone = Math.min(body.size, zip.bytesRead())));
      const xml = entries.filter((entry) => entry.name.toLowerCase().endsWith('.xml') && !isRouteFile(entry) && !isEcgFile(entry));
      const inFolder = xml.filter((entry) => entry.name.includes(EXPORT_FOLDER));
      let healthData: ZipEntry | null = null;
      for (const entry of inFolder.length > 0 ? inFolder : xml) {
        if (healthData !== null) {
          yield notImported(entry, describeXml(await rootElement(track(await entry.open()))));
          continue;
        }
        try {
          yield* this.xml(track(await entry.open()), entry.name);
          healthData = entry;
        } catch (error) {
          if (!(error instanceof NotHealthData)) throw error;
          yield notImported(entry, describeXml(error.root));
        }
      }
      if (healthData === null) {
        throw new AppError('UNPROCESSABLE_PAYLOAD', `the zip holds no XML whose root element is <HealthData> (looked at ${xml.map((e) => JSON.stringify(e.name)).join(', ') || 'no .xml file'}); is it Apple Health's export.zip?`);
      }
      const routes = entries.filter(isRouteFile);
      for (const entry of routes) {
        const route = await readGpx(track(await entry.open()), this.ctx);
        yield* this.attachRoute(relative(entry.name), route);
      }
      yield* this.leftovers();
      for (const entry of entries.filter(isEcgFile)) {
        const text = await readText(track(await entry.open()));
        yield parseEcgCsv(entry.name, text, this.ctx);
      }
      for (const entry of entries) {
        if (entry === healthData || xml.includes(entry) || isRouteFile(entry) || isEcgFile(entry)) continue;
        yield notImported(entry, 'a file this server does not read');
      }
    } finally {
      zip.close();
    }
  }

  /** The samples of one export.xml; throws NotHealthData before yielding anything when the root is another. */
  async *xml(bytes: AsyncIterable<Buffer>, label: string): AsyncGenerator<ParsedItem> {
    for await (const batch of readElements(bytes, label)) {
      for (const element of batch) {
        const items = this.element(element);
        if (items === null) continue;
        if (Array.isArray(items)) yield* items;
        else yield items;
      }
    }
  }

  private element(element: XmlElement): ParsedItem | ParsedItem[] | null {
    switch (element.name) {
      case 'Record':
        if (isBloodPressureMember(element)) {
          const key = correlationMemberKey(element);
          if (!this.pressureMembers.delete(key)) this.pressureRecords.set(key, element);
          return null;
        }
        return this.mapper.record(element);
      case 'Correlation':
        return this.correlation(element);
      case 'Workout': {
        const parsed = parseWorkout(element, this.ctx);
        if (!isParsedWorkout(parsed)) return parsed;
        if (parsed.routeFile === null) return finishWorkout(parsed.record, this.ctx);
        const waiting = this.awaitingRoute.get(parsed.routeFile);
        if (waiting) waiting.push(parsed.record);
        else this.awaitingRoute.set(parsed.routeFile, [parsed.record]);
        return null;
      }
      case 'ActivitySummary':
        return this.mapper.activitySummary(element);
      default:
        if (NOT_SAMPLES.has(element.name)) return null;
        // ClinicalRecord, Audiogram, VisionPrescription...: counted and kept in the archive.
        return rejected(element.name === 'ClinicalRecord' ? CLINICAL : element.name, `<${element.name}> elements are archived but not imported`, 'format', element);
    }
  }

  private correlation(element: XmlElement): ParsedItem | ParsedItem[] {
    const type = element.attributes.type;
    if (type === BLOOD_PRESSURE) {
      for (const member of element.children) {
        if (member.name !== 'Record' || !isBloodPressureMember(member)) continue;
        const key = correlationMemberKey(member);
        if (!this.pressureRecords.delete(key)) this.pressureMembers.add(key);
      }
      return this.mapper.bloodPressure(element);
    }
    // Food, and correlations of kinds HealthKit may add: their Records, each a sample.
    return this.mapper.food(element);
  }

  private *attachRoute(file: string, route: Awaited<ReturnType<typeof readGpx>>): Generator<ParsedItem> {
    const waiting = this.awaitingRoute.get(file);
    this.awaitingRoute.delete(file);
    if (!waiting) {
      if (typeof route === 'string') yield { ok: false, rejection: { type: 'workout_routes', reason: `${file}: ${route}`, category: 'format', sample: { file } } };
      else yield orphanRoute(file, route);
      return;
    }
    for (const workout of waiting) {
      if (typeof route === 'string') workout.original.routeProblem = route;
      else workout.route = route;
      yield finishWorkout(workout, this.ctx);
    }
  }

  /**
   * What waited for the end: workouts whose GPX file is not in the upload (stored without
   * points; `original.routeFile` still names it, and a later upload with the file adds
   * them), and blood-pressure Records no correlation holds.
   */
  *leftovers(): Generator<ParsedItem> {
    for (const workouts of this.awaitingRoute.values()) {
      for (const workout of workouts) yield finishWorkout(workout, this.ctx);
    }
    this.awaitingRoute.clear();
    for (const element of this.pressureRecords.values()) yield this.mapper.record(element);
    this.pressureRecords.clear();
  }
}

function isRouteFile(entry: ZipEntry): boolean {
  return /(^|\/)workout-routes\/[^/]+\.gpx$/i.test(entry.name);
}

function isEcgFile(entry: ZipEntry): boolean {
  return /(^|\/)electrocardiograms\/[^/]+\.csv$/i.test(entry.name);
}

/** A path as a WorkoutRoute's FileReference writes it: inside apple_health_export/, without a leading slash. */
function relative(name: string): string {
  const at = name.indexOf(EXPORT_FOLDER);
  return at >= 0 ? name.slice(at + EXPORT_FOLDER.length) : path.posix.join('workout-routes', path.posix.basename(name));
}

/** Why an XML file beside export.xml is not imported. */
function describeXml(root: string | null): string {
  if (root === 'ClinicalDocument') return 'clinical records (CDA), archived but not imported';
  return root === 'HealthData' ? 'a second <HealthData> document, archived but not imported' : `XML whose root is <${root ?? 'nothing'}>, archived but not imported`;
}

function notImported(entry: ZipEntry, what: string): ParsedItem {
  const type = what.startsWith('clinical') ? CLINICAL : NOT_IMPORTED;
  return { ok: false, rejection: { type, reason: `${entry.name}: ${what}`, category: 'format', sample: { file: entry.name, size: entry.size } } };
}

async function* counted(chunks: AsyncIterable<Buffer>, position: ReadPosition): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    position.bytesDone += chunk.length;
    yield chunk;
  }
}

async function* tracked(stream: Readable, onChunk: () => void): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    onChunk();
    yield chunk as Buffer;
  }
}

async function readText(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

