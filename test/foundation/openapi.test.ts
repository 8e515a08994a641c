import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('the OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('embedded');
  });
  afterAll(() => t.close());

  it('validates against the OpenAPI 3 specification and lists the ingest endpoint', async () => {
    const document = (await t.app.inject({ url: '/openapi.json' })).json();
    await SwaggerParser.validate(structuredClone(document));
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/v1/ingest', '/api/v1/ingestions/{id}', '/health', '/ready']));
  });
  // Swagger UI at /docs, with its assets and headers, is checked once: test/http/limits.test.ts.
});
