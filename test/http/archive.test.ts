/**
 * Archive first, byte for byte: whatever arrives is stored so that decompressing
 * it gives back exactly the bytes sent, with their SHA-256, before anything can
 * fail; a duplicate of an upload still in progress answers with that upload's
 * status; an upload the database cannot take is refused in a way the phone retries.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createPostgresDatabase } from '../../src/storage/database.js';
import { archiveRepository } from '../../src/storage/repositories/archive.js';
import { ADMIN_KEY, createTestApp, TEST_ENV, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { createPostgres, databaseKinds, silent } from '../helpers/databases.js';
import { watchedBody } from '../helpers/memory.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A standard payload with what a careless archive would change: key order, spacing, non-ASCII text, a BOM-free CRLF. */
const payload = (tag: string) =>
  Buffer.from(
    `{ "samples" :[\r\n  {"value": 12, "kind":"quantity","type":"step_count","start":"2024-05-01T10:00:00+02:00","unit":"count",` +
      `"source":"Sam’s iPhone — ${tag}" , "extra": {"note": "ü\\u00e9\\ud83d\\ude00"}}]  }\r\n`,
    'utf8',
  );

describe.each(databaseKinds())('the archive (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
  });
  afterAll(() => t.close());

  /** The archive as stored: its chunks in order, joined (one gzip stream). */
  async function stored(id: string) {
    const row = await t.db.query<{ sha256: string; size_bytes: number }>('SELECT sha256, size_bytes::int AS size_bytes FROM raw_ingestions WHERE id = $1', [id]);
    const chunks = await t.db.query<{ data: Uint8Array }>('SELECT data FROM raw_ingestion_chunks WHERE ingestion_id = $1 ORDER BY seq', [id]);
    return { body: Buffer.concat(chunks.rows.map((chunk) => Buffer.from(chunk.data))), chunks: chunks.rows.length, ...row.rows[0]! };
  }

  it.each([
    { encoding: undefined, compress: false },
    { encoding: 'gzip', compress: true },
    { encoding: 'x-gzip', compress: true },
  ])('keeps a body sent with Content-Encoding $encoding byte for byte, with the SHA-256 of what was sent', async ({ encoding, compress }) => {
    const sent = payload(String(encoding));
    const wire = compress ? gzipSync(sent, { level: 9 }) : sent;
    const response = await t.ingest(wire, ADMIN_KEY, encoding ? { 'content-encoding': encoding } : {});
    expect(response.statusCode, response.body).toBe(200);
    const { id } = response.json();

    const archive = await stored(id);
    expect(gunzipSync(archive.body).equals(sent)).toBe(true);
    expect(archive.sha256).toBe(sha256(sent));
    expect(archive.size_bytes).toBe(sent.length);
    // The phone's own gzip is kept as it came, not compressed again.
    if (compress) expect(archive.body.equals(wire)).toBe(true);
    const view = await t.app.inject({ url: `/api/v1/ingestions/${id}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(view.json()).toMatchObject({ sha256: sha256(sent), size_bytes: sent.length, status: 'completed' });
    // And what was stored is what the body said, down to the emoji.
    const source = await t.db.query<{ source: string; extra: { note: string } }>('SELECT source, extra FROM quantity_samples WHERE ingestion_id = $1', [id]);
    expect(source.rows).toEqual([{ source: `Sam’s iPhone — ${encoding}`, extra: { note: 'üé😀' } }]);
  });

  it.each([
    { encoding: undefined, compress: false },
    { encoding: 'gzip', compress: true },
    { encoding: 'x-gzip', compress: true },
  ])('keeps a body of several chunks sent with Content-Encoding $encoding byte for byte, its chunks one gzip stream of it', async ({ encoding, compress }) => {
    // Random text compresses little, so the archive spans several chunks; a valid body with no samples.
    const note = Array.from({ length: 128 }, () => randomBytes(24 * 1024).toString('base64'));
    const sent = Buffer.from(JSON.stringify({ samples: [], note }));
    const wire = compress ? gzipSync(sent, { level: 6 }) : sent;
    const response = await t.ingest(wire, ADMIN_KEY, encoding ? { 'content-encoding': encoding } : {});
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ status: 'completed', sha256: sha256(sent), size_bytes: sent.length });

    const archive = await stored(response.json().id);
    expect(archive.chunks).toBeGreaterThan(2);
    expect(gunzipSync(archive.body).equals(sent)).toBe(true);
    expect(archive.sha256).toBe(sha256(sent));
    if (compress) expect(archive.body.equals(wire)).toBe(true);
  });

  it('reads back a body archived before chunks (one value in raw_ingestions.body) to reprocess it', async () => {
    const { key, userId } = await t.userWithKey('old-archive@example.com');
    const sent = payload('old');
    const old = await t.db.query<{ id: string }>(
      `INSERT INTO raw_ingestions (user_id, source, headers, body, body_encoding, size_bytes, sha256, status)
       VALUES ($1, 'http', '{}', $2, 'gzip', $3, $4, 'failed') RETURNING id`,
      [userId, gzipSync(sent), sent.length, sha256(sent)],
    );
    const id = old.rows[0]!.id;
    const response = await t.app.inject({ method: 'POST', url: `/api/v1/ingestions/${id}/reprocess`, headers: { authorization: `Bearer ${key}` } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ id, status: 'completed', counts: { received: 1, inserted: 1 } });
  });

  it('keeps no chunk of a body refused as too large mid-way, nor of a duplicate', async () => {
    const { key, userId } = await t.userWithKey('no-leftovers@example.com');
    const limited = await createTestApp(kind, { env: { ...WAIT_FOR_OUTCOME, MAX_PAYLOAD_MB: '2' }, reset: false });
    try {
      // Gzip, so the size is known only once inflated: refused after chunks were written.
      const tooBig = gzipSync(randomBytes(3 * 1024 * 1024));
      const refused = await limited.ingest(tooBig, key, { 'content-encoding': 'gzip' });
      expect(refused.statusCode).toBe(413);
      const sent = payload('twice');
      expect((await limited.ingest(sent, key)).statusCode).toBe(200);
      expect((await limited.ingest(sent, key)).json()).toMatchObject({ duplicate: true });
    } finally {
      await limited.close();
    }
    const chunks = await t.db.query<{ n: number; orphans: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE r.id IS NULL)::int AS orphans
       FROM raw_ingestion_chunks c LEFT JOIN raw_ingestions r ON r.user_id = c.user_id AND r.id = c.ingestion_id WHERE c.user_id = $1`,
      [userId],
    );
    expect(chunks.rows[0]).toEqual({ n: 1, orphans: 0 });
  });

  it('sweeps the chunks of a body that stopped arriving, not those of one still arriving for longer than the sweep waits (an import of several GB lost its first chunks)', async () => {
    const { userId } = await t.userWithKey('long-upload@example.com');
    const [arriving, stopped] = [randomUUID(), randomUUID()];
    const archives = archiveRepository(t.db);
    for (const id of [arriving, stopped]) for (const seq of [0, 1]) await archives.writeChunk(userId, id, seq, Buffer.from(`chunk ${seq}`));
    // Written ten minutes ago; the body still arriving has just written its latest chunk.
    await t.db.query(`UPDATE raw_ingestion_chunks SET written_at = now() - interval '10 minutes' WHERE user_id = $1 AND NOT (ingestion_id = $2 AND seq = 1)`, [userId, arriving]);
    expect(await archives.sweepOrphans(180)).toBeGreaterThanOrEqual(2);
    const left = await t.db.query<{ ingestion_id: string; seq: number }>('SELECT ingestion_id, seq FROM raw_ingestion_chunks WHERE user_id = $1 ORDER BY seq', [userId]);
    expect(left.rows).toEqual([
      { ingestion_id: arriving, seq: 0 },
      { ingestion_id: arriving, seq: 1 },
    ]);
  });

  it('holds no more than a few chunks of a 200 MB body on the request path (it held the whole body, inflated, and its archive)', async () => {
    const { key, userId } = await t.userWithKey('big@example.com');
    const big = await createTestApp(kind, { env: { ...WAIT_FOR_OUTCOME, MAX_PAYLOAD_MB: '256' }, reset: false });
    const size = 200 * 1024 * 1024;
    const line = (i: number) => `{"date":"2024-01-01 00:00:00 +0000","qty":${i},"source":"Watch ${i % 97}"},`;
    function* text() {
      let sent = 0;
      for (let i = 0; sent < size; i += 1) {
        const piece = Array.from({ length: 1000 }, (_, j) => line(i * 1000 + j)).join('');
        sent += piece.length;
        yield piece;
      }
    }
    const body = watchedBody(text);
    // An identical earlier upload, so this one is archived and answered without being processed:
    // what is measured is the request path alone.
    await t.db.query(`INSERT INTO raw_ingestions (user_id, source, headers, size_bytes, sha256, status) VALUES ($1, 'http', '{}', $2, $3, 'completed')`, [
      userId,
      body.length,
      body.sha256,
    ]);
    try {
      const response = await big.app.inject({
        method: 'POST',
        url: '/api/v1/ingest',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        payload: body.send(),
      });
      const growth = body.growth();
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ duplicate: true, size_bytes: body.length });
      console.log(`request path, ${(body.length / 1048576).toFixed(0)} MB body: arrayBuffers grew by ${(growth / 1048576).toFixed(1)} MB`);
      expect(growth).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await big.close();
    }
  }, 300_000);

  it('keeps a body that is not even UTF-8 byte for byte, as a failed ingestion', async () => {
    const sent = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x80, 0x22, 0x7d]);
    const response = await t.ingest(sent);
    expect(response.statusCode).toBe(400);
    const id = /kept as ingestion ([0-9a-f-]{36})/.exec(response.json().error.message)![1]!;
    const archive = await stored(id);
    expect(gunzipSync(archive.body).equals(sent)).toBe(true);
    expect(archive.sha256).toBe(sha256(sent));
  });

  it('answers a duplicate of an upload still queued with that upload, its status and 202, recording nothing new', async () => {
    const { key, userId } = await t.userWithKey('queued@example.com');
    const sent = payload('queued');
    // Archived but not processed: this app has no workers (INGEST_WORKERS=0), so it stays queued.
    const body = await t.app.services.ingest.receiveBytes(userId, sent);
    const { ingestion } = await t.app.services.ingest.queue({ userId, keyId: null, source: 'http', headers: {} }, body);
    expect(ingestion.status).toBe('queued');

    const response = await t.ingest(sent, key);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ id: ingestion.id, duplicate_of: ingestion.id, duplicate: true, status: 'queued' });
    const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM raw_ingestions WHERE user_id = $1', [userId]);
    expect(rows.rows[0]!.n).toBe(1);
  });
});

describe.skipIf(!databaseKinds().includes('postgres'))('an upload while the database is down (postgres database)', () => {
  it(
    'is refused with 503 and Retry-After, so the phone sends it again (it answered 500 internal error)',
    async () => {
      const { url, postgis, db: direct } = await createPostgres();
      await direct.close();
      const proxy = await startTcpProxy(url);
      const db = createPostgresDatabase({ url: proxy.url, poolSize: 2, connectTimeoutMs: 1000, statementTimeoutMs: 0, applicationName: 'tests' }, silent);
      const app = await buildApp(loadConfig({ ...TEST_ENV, API_KEY_CACHE_SECONDS: '3600' }), { db, logger: silent, redis: null, postgis });
      try {
        await app.services.keys.bootstrap();
        const auth = { authorization: `Bearer ${ADMIN_KEY}` };
        // The key is verified (and cached) while the database is up: the archive write is what meets the outage.
        expect((await app.inject({ url: '/api/v1/ingestions', headers: auth })).statusCode).toBe(200);
        proxy.refuse();
        const response = await app.inject({
          method: 'POST',
          url: '/api/v1/ingest',
          headers: { ...auth, 'content-type': 'application/json' },
          payload: payload('outage'),
        });
        expect(response.statusCode, response.body).toBe(503);
        expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
        expect(response.json().error.code).toBe('DATABASE_UNAVAILABLE');
      } finally {
        proxy.restore();
        await app.close();
        await app.services.ingest.stop();
        await db.close();
        await proxy.close();
      }
    },
  );
});
