/**
 * The export.xml scanner: the same elements whatever the chunk boundaries (a tag
 * split between two reads), entities and character references decoded, the
 * DOCTYPE's internal subset skipped, and a document that is not an export or not
 * well-formed refused with where.
 */
import { describe, expect, it } from 'vitest';
import { NotHealthData, readElements, rootElement, type XmlElement } from '../../src/ingest/apple-health/xml.js';
import { exportXml } from '../helpers/apple-health.js';

async function elements(text: string, chunkSize: number): Promise<XmlElement[]> {
  const bytes = Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  }
  const all: XmlElement[] = [];
  for await (const batch of readElements(chunks(), 'export.xml')) all.push(...batch);
  return all;
}

describe('reading export.xml', () => {
  it('gives the same elements whether the bytes come whole or a few at a time', async () => {
    const whole = await elements(exportXml(), 1 << 20);
    expect(whole.map((e) => e.name)).toEqual(expect.arrayContaining(['ExportDate', 'Me', 'Record', 'Correlation', 'Workout', 'ActivitySummary', 'ClinicalRecord']));
    for (const size of [1, 3, 7, 64]) expect(await elements(exportXml(), size)).toEqual(whole);
  });

  it('decodes entities, character references and UTF-8 in attribute values, and keeps children in order', async () => {
    const [element] = await elements(
      '<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n<!ATTLIST HealthData locale CDATA #REQUIRED>\n]>\n<HealthData locale="de_DE"><Record type=\'HKQuantityTypeIdentifierStepCount\' sourceName="Arun&#8217;s &lt;Watch&gt; &amp; 导出 &#x1F3C3;" value="1"><MetadataEntry key="a" value="1"/><!-- a comment --><MetadataEntry key="b" value="2"></MetadataEntry></Record></HealthData>',
      5,
    );
    expect(element).toEqual({
      name: 'Record',
      attributes: { type: 'HKQuantityTypeIdentifierStepCount', sourceName: 'Arun’s <Watch> & 导出 🏃', value: '1' },
      children: [
        { name: 'MetadataEntry', attributes: { key: 'a', value: '1' }, children: [] },
        { name: 'MetadataEntry', attributes: { key: 'b', value: '2' }, children: [] },
      ],
    });
  });

  it('refuses another root, tags that do not nest, and a document cut short, saying where', async () => {
    await expect(elements('<?xml version="1.0"?><ClinicalDocument><title/></ClinicalDocument>', 10)).rejects.toBeInstanceOf(NotHealthData);
    await expect(elements('<HealthData><Record></Workout></HealthData>', 10)).rejects.toThrow(/<\/Workout> closes <Record> \(byte 20\)/);
    await expect(elements('<HealthData><Record value="1"/>', 10)).rejects.toThrow(/ends before <\/HealthData>/);
    expect(await rootElement((async function* () { yield Buffer.from('<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">'); })())).toBe('ClinicalDocument');
  });
});
