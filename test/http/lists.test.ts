/**
 * The lists outside /data (ingestions, an ingestion's rejections, keys, users,
 * the audit log) page with a cursor: followed one item at a time, each gives
 * every item once, in its order, and ends with `next: null`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { readFixture } from '../helpers/fixtures.js';

describe('lists paged one item at a time', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('embedded');
  });
  afterAll(() => t.close());

  /** Every item of a list, following `next` with limit=1, and how many pages that took. */
  async function walk(url: string): Promise<{ items: any[]; pages: number }> {
    const items: any[] = [];
    let pages = 0;
    let next: string | null = null;
    do {
      const response = await t.app.inject({
        url: `${url}${url.includes('?') ? '&' : '?'}limit=1${next ? `&cursor=${next}` : ''}`,
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(response.statusCode, response.body).toBe(200);
      const page = response.json() as { items: any[]; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(1);
      items.push(...page.items);
      pages += 1;
      next = page.next;
    } while (next && pages < 100);
    return { items, pages };
  }

  it('gives each ingestion, rejection, key, user and audit entry once, newest or first as documented', async () => {
    const uploads = [];
    for (const fixture of ['edge-cases-metrics.json', 'other-data-types.json', 'real-sleep-segments-2025-04.json']) {
      uploads.push((await t.ingest(readFixture(fixture))).json().id as string);
    }
    const users = await Promise.all(['a', 'b', 'c'].map((name) => t.userWithKey(`${name}@example.com`)));

    const ingestions = await walk('/api/v1/ingestions');
    expect(ingestions.items.map((i) => i.id)).toEqual([...uploads].reverse());
    expect(ingestions.pages).toBe(3);

    const rejections = await walk(`/api/v1/ingestions/${uploads[0]}/rejections`);
    expect(rejections.items).toHaveLength(3);
    expect(new Set(rejections.items.map((r) => r.reason)).size).toBe(3);

    const keys = await walk('/api/v1/auth/keys');
    const keyIds = keys.items.map((k) => k.id);
    expect(new Set(keyIds).size).toBe(keyIds.length);
    expect(keyIds).toEqual(expect.arrayContaining(users.map((u) => u.keyId)));

    const listed = (await walk('/api/v1/admin/users')).items.map((u) => u.email);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(expect.arrayContaining(['a@example.com', 'b@example.com', 'c@example.com']));

    const audit = (await walk('/api/v1/admin/audit')).items;
    const created = audit.filter((entry) => entry.action === 'key.created').map((entry) => entry.key_id);
    expect(new Set(created).size).toBe(created.length);
    expect(created).toEqual(expect.arrayContaining(users.map((u) => u.keyId)));
  });
});
