/**
 * Uploads: every ingestion with its status and counts; one ingestion with its
 * counts per type and its kept rejections (with their reasons), and a button to
 * run its archived body again through today's parser and thresholds.
 */
import { api, ApiError, withQuery, type Counts, type Ingestion, type List, type Rejection } from '../api.js';
import { dateTime } from '../dates.js';
import { append, h, notice, table } from '../dom.js';
import { bytes, shown } from '../format.js';
import { canIngest, type Page } from '../page.js';

const COUNTS: (keyof Counts)[] = ['received', 'inserted', 'updated', 'unchanged', 'rejected'];
const countCells = (counts: Counts | null) => COUNTS.map((name) => shown(counts?.[name]));
const countHeads = ['Received', 'Inserted', 'Updated', 'Unchanged', 'Rejected'];

async function listPage(main: HTMLElement, zone: string, cursor: string | null): Promise<void> {
  const page = await api<List<Ingestion>>(withQuery('/api/v1/ingestions', { limit: 50, cursor }));
  if (page.items.length === 0) {
    append(main, notice('No uploads yet.'));
    return;
  }
  append(main, 
    table(
      'Uploads, newest first',
      ['Received', 'Status', 'Format', 'Size', ...countHeads],
      page.items.map((ingestion) => [h('a', { href: `/uploads/${ingestion.id}` }, dateTime(ingestion.received_at, zone)), ingestion.status, ingestion.format ?? '–', bytes(ingestion.size_bytes), ...countCells(ingestion.counts)]),
      { class: 'uploads' },
    ),
    page.next ? h('p', {}, h('a', { href: withQuery('/uploads', { cursor: page.next }) }, 'Older uploads')) : null,
  );
}

function reprocessButton(ingestion: Ingestion, navigate: (url: string) => void): HTMLElement {
  const status = h('span', { role: 'status' });
  const button = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        button.disabled = true;
        status.textContent = 'Reprocessing…';
        try {
          const result = await api<Ingestion>(`/api/v1/ingestions/${ingestion.id}/reprocess`, { method: 'POST' });
          navigate(withQuery(`/uploads/${ingestion.id}`, { reprocessed: result.status }));
        } catch (error) {
          status.textContent = error instanceof ApiError ? error.message : String(error);
          button.disabled = false;
        }
      },
    },
    'Reprocess',
  );
  return h('div', { class: 'actions' }, button, ' ', status);
}

async function detailPage(main: HTMLElement, id: string, zone: string, reprocess: boolean, navigate: (url: string) => void, reprocessed: string | null): Promise<void> {
  const ingestion = await api<Ingestion>(`/api/v1/ingestions/${id}`);
  const rejections = await api<List<Rejection> & { rejections_not_kept: number }>(withQuery(`/api/v1/ingestions/${id}/rejections`, { limit: 200 }));
  main.querySelector('h1')!.textContent = `Upload of ${dateTime(ingestion.received_at, zone)}`;
  const byType = Object.entries(ingestion.by_type ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  append(main, 
    h('p', {}, h('a', { href: '/uploads' }, 'All uploads')),
    reprocessed ? notice(reprocessed === 'completed' || reprocessed === 'failed' ? `Reprocessed: ${reprocessed}.` : 'Reprocessing: a worker is finishing it; reload for its counts.') : null,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      h('dd', { 'data-field': 'status' }, ingestion.status),
      h('dt', {}, 'Format'),
      h('dd', {}, ingestion.format ?? '–'),
      h('dt', {}, 'Size'),
      h('dd', {}, bytes(ingestion.size_bytes)),
      h('dt', {}, 'Finished'),
      h('dd', {}, ingestion.finished_at ? dateTime(ingestion.finished_at, zone) : '–'),
      ingestion.error ? [h('dt', {}, 'Error'), h('dd', {}, `${ingestion.error.code}: ${ingestion.error.message}`)] : null,
    ),
    reprocess && !ingestion.body_deleted_at ? reprocessButton(ingestion, navigate) : null,
    table('Counts per type', ['Type', ...countHeads], [...byType.map(([type, counts]) => [type, ...countCells(counts)]), [h('strong', {}, 'All'), ...countCells(ingestion.counts)]], { class: 'by-type' }),
    h('h2', {}, 'Rejected samples'),
    rejections.items.length === 0
      ? notice('Nothing was rejected.')
      : table(
          `Rejections${rejections.next ? ' (the first 200)' : ''}`,
          ['Type', 'Check', 'Reason', 'Sample as sent'],
          rejections.items.map((rejection) => [rejection.type, rejection.category, rejection.reason, h('code', {}, JSON.stringify(rejection.sample))]),
          { class: 'rejections' },
        ),
    rejections.rejections_not_kept > 0 ? notice(`${rejections.rejections_not_kept} more were counted but not kept (REJECTIONS_KEPT_MAX).`) : null,
  );
}

const uploadsPage: Page = async (main, { params, query, zone, me, navigate }) => {
  if (params.id) await detailPage(main, params.id, zone, canIngest(me), navigate, query.get('reprocessed'));
  else await listPage(main, zone, query.get('cursor'));
};

export default uploadsPage;
