/**
 * `npm run cli -- openapi`: the OpenAPI document exactly as the server serves it
 * at /openapi.json, written to docs/openapi.json, and a Postman collection
 * converted from it. The app is built over a throw-away in-memory database with
 * the default configuration, so the files never depend on this machine's .env
 * or data, and a test can tell when they are stale.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertV2 } from 'openapi-to-postmanv2';
import pino from 'pino';
import { buildApp } from '../app.js';
import { loadConfig } from '../config/config.js';
import { newPepper } from '../auth/key-material.js';
import { createPgliteDatabase } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';

/** The repository root, where docs/ is, wherever the command is run from. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const OPENAPI_FILE = 'docs/openapi.json';
export const POSTMAN_FILE = 'docs/health-export-api.postman_collection.json';

/** What GET /openapi.json answers on a server with the default configuration. */
export async function servedOpenApiDocument(): Promise<Record<string, unknown>> {
  const logger = pino({ level: 'silent' });
  const db = await createPgliteDatabase(undefined);
  try {
    await migrate(db, logger);
    // A pepper of its own: it shapes nothing in the document, and DATA_DIR stays untouched.
    const app = await buildApp(loadConfig({ API_KEY_PEPPER: newPepper() }), { db, logger, redis: null, postgis: false });
    try {
      return (await app.inject({ url: '/openapi.json' })).json<Record<string, unknown>>();
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
  }
}

/**
 * The collection Postman would import from the document: one folder per tag,
 * every example filled in, the server in the collection variable `baseUrl` and
 * the key in `bearerToken`. The converter gives each item a random id; ids are
 * dropped so that one document always gives the same file (Postman assigns
 * ids on import).
 */
export function postmanCollection(document: Record<string, unknown>): Promise<Record<string, unknown>> {
  // The converter fakes a body for a response without an example (a list whose page has none)
  // from Math.random; a fixed seed makes one document give one file.
  const random = Math.random;
  Math.random = seededRandom(1);
  return new Promise((resolve, reject) => {
    convertV2(
      { type: 'json', data: structuredClone(document) },
      { folderStrategy: 'Tags', parametersResolution: 'Example', requestNameSource: 'Fallback', enableOptionalParameters: false },
      (error, result) => {
        Math.random = random;
        if (error) return reject(new Error(`Postman conversion failed: ${error.message}`));
        const collection = result?.output?.[0]?.data as Record<string, unknown> | undefined;
        if (!result?.result || !collection) return reject(new Error(`Postman conversion failed: ${result?.reason ?? 'no output'}`));
        resolve({
          ...(withoutIds(collection) as Record<string, unknown>),
          variable: [
            { key: 'baseUrl', value: 'http://localhost:3000', description: 'Where the server listens' },
            { key: 'bearerToken', value: '', description: 'An API key (hea_...): npm run cli -- keys create' },
          ],
        });
      },
    );
  });
}

/** mulberry32: a small seeded generator, good enough for example values. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Item and response ids only: `id` elsewhere (an example body's) is data. */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(([name, inner]) => !(name === '_postman_id' || (name === 'id' && typeof inner === 'string' && UUID.test(inner))));
  return Object.fromEntries(entries.map(([name, inner]) => [name, withoutIds(inner)]));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The document with its component schemas in name order: zod's registry lists
 * them in the order their modules were first imported, which differs between
 * the CLI and a test process; nothing else in the document depends on it.
 */
function canonical(document: Record<string, unknown>): Record<string, unknown> {
  const components = document.components as { schemas?: Record<string, unknown> } | undefined;
  if (!components?.schemas) return document;
  const schemas = Object.fromEntries(Object.entries(components.schemas).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { ...document, components: { ...components, schemas } };
}

/** The exact text of both files for a served document, so the command and the freshness test agree byte for byte. */
export async function apiDocumentFiles(served: Record<string, unknown>): Promise<Record<string, string>> {
  const document = canonical(served);
  const collection = await postmanCollection(document);
  return {
    [OPENAPI_FILE]: `${JSON.stringify(document, null, 2)}\n`,
    [POSTMAN_FILE]: `${JSON.stringify(collection, null, 2)}\n`,
  };
}

export async function writeApiDocuments(root = ROOT): Promise<string[]> {
  const files = await apiDocumentFiles(await servedOpenApiDocument());
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(root, file), text);
  return Object.keys(files);
}
