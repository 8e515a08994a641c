/**
 * export.xml read as a stream of its top-level elements (Record, Correlation,
 * Workout, ActivitySummary, ...), each handed over as a small tree once its
 * closing tag has been read. Nothing else of the document is kept, so memory is
 * one element deep whatever the file's size. The root must be <HealthData>:
 * that is how the export's XML is recognised, whatever its (localized) name.
 */
import { SaxesParser } from 'saxes';
import { AppError } from '../../shared/errors.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
}

export const ROOT = 'HealthData';

/** Thrown when the first element is not <HealthData>: the entry is some other XML (export_cda.xml). */
export class NotHealthData extends Error {
  constructor(readonly root: string) {
    super(`the root element is <${root}>, not <${ROOT}>`);
  }
}

/**
 * The children of the root, in document order. `label` names the file in errors.
 * Yields arrays (what one chunk of bytes completed) to keep the per-element cost low.
 */
export async function* readElements(bytes: AsyncIterable<Buffer>, label: string): AsyncGenerator<XmlElement[]> {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const decoder = new TextDecoder('utf-8');
  const stack: XmlElement[] = [];
  let done: XmlElement[] = [];
  let sawRoot = false;
  let failure: Error | null = null;

  parser.on('opentag', (tag) => {
    if (!sawRoot) {
      sawRoot = true;
      if (tag.name !== ROOT) throw new NotHealthData(tag.name);
      stack.push({ name: tag.name, attributes: {}, children: [] });
      return;
    }
    const element: XmlElement = { name: tag.name, attributes: tag.attributes as Record<string, string>, children: [] };
    if (stack.length > 1) stack[stack.length - 1]!.children.push(element);
    stack.push(element);
  });
  parser.on('closetag', () => {
    const element = stack.pop();
    if (element && stack.length === 1) done.push(element);
  });
  parser.on('error', (error) => {
    failure ??= error;
  });

  const write = (text: string) => {
    try {
      parser.write(text);
    } catch (error) {
      if (error instanceof NotHealthData) throw error;
      failure ??= error as Error;
    }
    if (failure) {
      throw new AppError('UNPROCESSABLE_PAYLOAD', `${label} is not well-formed XML: ${failure.message}`);
    }
  };

  for await (const chunk of bytes) {
    write(decoder.decode(chunk, { stream: true }));
    if (done.length > 0) {
      const ready = done;
      done = [];
      yield ready;
    }
  }
  write(decoder.decode());
  try {
    parser.close();
  } catch (error) {
    throw new AppError('UNPROCESSABLE_PAYLOAD', `${label} ends before its XML does: ${(error as Error).message}`);
  }
  if (!sawRoot) throw new NotHealthData('(none)');
  if (done.length > 0) yield done;
}

/** The name of a document's root element, read no further than it; null when there is none. */
export async function rootElement(bytes: AsyncIterable<Buffer>): Promise<string | null> {
  const parser = new SaxesParser({ xmlns: false, position: false });
  const decoder = new TextDecoder('utf-8');
  let root: string | null = null;
  parser.on('opentag', (tag) => {
    root ??= tag.name;
  });
  parser.on('error', () => undefined);
  for await (const chunk of bytes) {
    parser.write(decoder.decode(chunk, { stream: true }));
    if (root !== null) break;
  }
  return root;
}
