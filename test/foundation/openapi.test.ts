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

  it('renders Swagger UI at /docs', async () => {
    const page = await t.app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
  });
});
