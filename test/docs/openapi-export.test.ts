/**
 * docs/openapi.json and the Postman collection are what the server serves, not
 * a copy that drifts: both are regenerated from the served document and must
 * match the committed files byte for byte (`npm run cli -- openapi` rewrites
 * them). The document itself tells a client enough: every parameter and every
 * response has an example, every error says when it happens, and the request
 * bodies it shows for POST /ingest are accepted as they stand.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiDocumentFiles, OPENAPI_FILE, POSTMAN_FILE } from '../../src/cli/openapi.js';
import { ERROR_STATUS, type ErrorCode } from '../../src/shared/errors.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ROOT } from '../helpers/process.js';

type Json = Record<string, any>;

const STALE = 'stale: run `npm run cli -- openapi` and commit the result';

describe('the exported API documents', () => {
  let t: TestApp;
  let served: Json;
  beforeAll(async () => {
    t = await createTestApp('embedded');
    served = (await t.app.inject({ url: '/openapi.json' })).json();
  });
  afterAll(() => t.close());

  it(`${OPENAPI_FILE} and ${POSTMAN_FILE} are what the server serves at /openapi.json`, async () => {
    const files = await apiDocumentFiles(served);
    for (const [file, text] of Object.entries(files)) {
      expect(readFileSync(path.join(ROOT, file), 'utf8'), `${file} is ${STALE}`).toBe(text);
    }
  });

  const operations = () =>
    Object.entries(served.paths as Json).flatMap(([route, methods]) =>
      Object.entries(methods as Json).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${route}`, operation: operation as Json })),
    );

  /** Whether a schema, followed through $ref and allOf/anyOf, carries an example (a list: its items do). */
  function hasExample(schema: Json | undefined, seen = new Set<string>()): boolean {
    if (!schema) return false;
    if (schema.example !== undefined || schema.examples !== undefined) return true;
    if (schema.$ref) {
      if (seen.has(schema.$ref)) return false;
      seen.add(schema.$ref);
      return hasExample(served.components.schemas[schema.$ref.split('/').pop()], seen);
    }
    for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
      if (Array.isArray(schema[keyword]) && schema[keyword].length > 0 && schema[keyword].every((inner: Json) => hasExample(inner, seen))) return true;
    }
    return schema.type === 'object' && schema.properties?.items?.type === 'array' && hasExample(schema.properties.items.items, seen);
  }

  it('gives every operation a summary, and every parameter a description and an example', () => {
    for (const { name, operation } of operations()) {
      expect(operation.summary, name).toBeTruthy();
      for (const parameter of operation.parameters ?? []) {
        expect(parameter.description, `${name} ${parameter.name}`).toBeTruthy();
        expect(parameter.example ?? parameter.schema?.example, `${name} ${parameter.name}`).toBeDefined();
      }
      const body = operation.requestBody?.content?.['application/json'];
      if (body) expect(body.example ?? body.examples ?? (hasExample(body.schema) || undefined), `${name} body`).toBeDefined();
    }
  });

  it('gives every JSON response an example, and every error a description and an example whose code has that status', () => {
    for (const { name, operation } of operations()) {
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        const media = response.content?.['application/json'];
        if (!media) continue;
        expect(media.example ?? media.examples ?? (hasExample(media.schema) || undefined), `${name} ${status}`).toBeDefined();
        if (Number(status) < 400) continue;
        expect(response.description, `${name} ${status}`).not.toBe('Default Response');
        const isError = [media.schema.$ref, media.schema.allOf?.[0]?.$ref].includes('#/components/schemas/Error');
        if (Number(status) < 500) expect(isError, `${name} ${status} is an Error`).toBe(true);
        if (!isError) continue; // GET /ready's 503 is its report
        const example = media.schema.example ?? served.components.schemas.Error.example;
        expect(ERROR_STATUS[example.error.code as ErrorCode], `${name} ${status}: example code ${example.error.code}`).toBe(Number(status));
      }
    }
  });

  it('shows request bodies for POST /api/v1/ingest that are stored as they stand', async () => {
    const examples = served.paths['/api/v1/ingest'].post.requestBody.content['application/json'].examples as Record<string, { value: unknown }>;
    expect(Object.keys(examples)).toEqual(['hae', 'standard']);
    for (const [format, { value }] of Object.entries(examples)) {
      const { key } = await t.userWithKey(`example-${format}@example.com`, ['ingest']);
      const answer = await t.ingest(value as object, key);
      expect(answer.statusCode, format).toBe(200);
      expect(answer.json(), format).toMatchObject({ status: 'completed', format, counts: { received: 3, inserted: 3, rejected: 0 } });
    }
  });
});
