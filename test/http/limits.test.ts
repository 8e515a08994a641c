/**
 * Size and time limits over a real socket, and the headers every answer
 * carries: a gzip bomb is refused with 413 without inflating it, bodies of
 * other routes stay small, slow clients are cut off, and browsers are told not
 * to sniff, frame or leak referrers (with Swagger UI still working).
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { exportXml } from '../helpers/apple-health.js';

const MB = 1024 * 1024;

interface Answer {
  status: number;
  body: string;
}

/** POSTs a stream over a real connection and returns the answer; rejects on a connection error. */
function post(url: string, body: Readable, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...headers } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

/** `total` bytes of zeros, made chunk by chunk as the reader asks (never held in memory). */
function zeros(total: number, onChunk: (bytes: number) => void = () => {}): Readable {
  const chunk = Buffer.alloc(MB);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += chunk.length) {
        onChunk(chunk.length);
        yield chunk;
      }
    })(),
  );
}

describe('body size limits over a real connection', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await createTestApp('embedded', { env: { MAX_PAYLOAD_MB: '8' } });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => t.close());

  it('refuses a gzip bomb that inflates to 2 GB with 413 (it used to hang unanswered), memory growing by less than MAX_PAYLOAD_MB + 100 MB', async () => {
    let generated = 0;
    const bomb = zeros(2048 * MB, (bytes) => (generated += bytes)).pipe(createGzip({ level: 1 }));
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      const answer = await post(`${url}/api/v1/ingest`, bomb, { 'content-encoding': 'gzip' });
      expect(answer.status).toBe(413);
      const error = JSON.parse(answer.body).error;
      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(error.message).toContain('MAX_PAYLOAD_MB');
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(generated).toBe(2048 * MB); // the client sent the whole bomb and got its answer at the end
    expect(peak - before).toBeLessThan(8 * MB + 100 * MB);
    const refused = await t.db.query<{ status: string; error_code: string }>(
      "SELECT status, error->>'code' AS error_code FROM raw_ingestions ORDER BY received_at DESC LIMIT 1",
    );
    expect(refused.rows[0]).toEqual({ status: 'failed', error_code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses a plain body over MAX_PAYLOAD_MB with 413, whether its length is declared or not', async () => {
    const chunked = await post(`${url}/api/v1/ingest`, zeros(20 * MB), {});
    expect(chunked.status).toBe(413);
    const declared = await post(`${url}/api/v1/ingest`, zeros(20 * MB), { 'content-length': String(20 * MB) });
    expect(declared.status).toBe(413);
    // The server still answers over a real connection afterwards.
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('keeps bodies of other routes under 1 MiB, and says so (the message used to name no limit)', async () => {
    const big = JSON.stringify({ email: 'big@example.com', padding: 'x'.repeat(2 * MB) });
    const answer = await post(`${url}/api/v1/admin/users`, Readable.from([Buffer.from(big)]), {});
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'request body is larger than the 1 MiB this route accepts',
    });
  });

  it('refuses a text/plain body on a JSON route with 415 (it used to be read as a string and refused with 400)', async () => {
    const answer = await post(`${url}/api/v1/admin/users`, Readable.from([Buffer.from('{"email":"plain@example.com"}')]), {
      'content-type': 'text/plain',
    });
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.body).error).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'Content-Type "text/plain" is not accepted; send application/json',
    });
    const users = await t.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(JSON.stringify(users.json())).not.toContain('plain@example.com');
  });
});

describe('time limits', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp('embedded', { env: { HEADERS_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '2' } });
    port = Number(new URL(await t.app.listen({ host: '127.0.0.1', port: 0 })).port);
  });
  afterAll(() => t.close());

  /** Sends `text` and never finishes the request; resolves with what the server answered before closing. */
  const stallAfter = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let received = '';
      const giveUp = setTimeout(() => reject(new Error('the server kept a stalled request open')), 20_000);
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve(received);
      });
      socket.on('error', () => undefined);
      socket.write(text);
    });

  /** The status and error body of a raw answer (it used to be Fastify's shape: {"error": "Request Timeout", ...}). */
  const refusal = (answer: string) => ({
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]),
    error: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error,
  });

  it('answers 408 in the error shape and closes a connection whose headers never finish (HEADERS_TIMEOUT_SECONDS)', async () => {
    const answer = refusal(await stallAfter('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: '));
    expect(answer.status).toBe(408);
    expect(answer.error).toMatchObject({ code: 'REQUEST_TIMEOUT', message: expect.stringContaining('HEADERS_TIMEOUT_SECONDS') });
    expect(answer.error.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 408 in the error shape and closes a connection whose body never finishes (REQUEST_TIMEOUT_SECONDS)', async () => {
    const head = `POST /api/v1/ingest HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
    const answer = refusal(await stallAfter(`${head}{"data": {`));
    expect(answer.status).toBe(408);
    expect(answer.error.code).toBe('REQUEST_TIMEOUT');
  });

  it('lets an Apple Health import take longer than REQUEST_TIMEOUT_SECONDS to upload (an export of several GB was cut off at 90 s)', async () => {
    const body = Buffer.from(exportXml());
    const head = `POST /api/v1/import/apple-health HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      // A third of the body every two seconds: the whole upload takes past the 2 s limit and a check of it.
      const parts = [body.subarray(0, body.length / 3), body.subarray(body.length / 3, (2 * body.length) / 3), body.subarray((2 * body.length) / 3)];
      socket.write(head);
      void (async () => {
        for (const part of parts) {
          socket.write(part);
          await sleep(2000);
        }
      })();
    });
    expect(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]), answer).toBe(202);
  }, 30_000);

  it('answers 431 in the error shape to headers over 16 KiB', async () => {
    const answer = refusal(await stallAfter(`GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'x'.repeat(20 * 1024)}\r\n\r\n`));
    expect(answer.status).toBe(431);
    expect(answer.error).toMatchObject({ code: 'HEADERS_TOO_LARGE', message: 'request headers are larger than the 16 KiB allowed in all' });
  });
});

describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('embedded');
  });
  afterAll(() => t.close());

  it('tells browsers not to sniff, frame or leak the referrer, on answers and on errors', async () => {
    for (const response of [
      await t.app.inject({ url: '/health' }),
      await t.app.inject({ url: '/api/v1/ingestions' }),
      await t.app.inject({ url: '/api/v1/no/such/route' }),
      await t.app.inject({ url: '/api/v1/ingestions', headers: { authorization: `Bearer ${ADMIN_KEY}` } }),
    ]) {
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });

  it('still serves a working Swagger UI at /docs, unframeable', async () => {
    const page = await t.app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    const assets = [...page.body.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toContain('static/swagger-ui-bundle.js');
    for (const asset of assets) {
      const response = await t.app.inject({ url: `/docs/${asset}` });
      expect(response.statusCode, asset).toBe(200);
    }
    const initializer = await t.app.inject({ url: '/docs/static/swagger-initializer.js' });
    expect(initializer.body).toContain('SwaggerUIBundle(');
    expect((await t.app.inject({ url: '/docs/json' })).json().paths['/api/v1/auth/rate-limit']).toBeDefined();
  });
});
