/**
 * The dashboard: sign in with a key, then one page per route, rendered into
 * <main>. Links are ordinary links (keyboard and middle-click work); the router
 * only keeps same-page navigation from reloading.
 */
import './styles.css';
import { api, ApiError, forgetKey, rememberKey, storedKey, whenUnauthorized, type Key } from './api.js';
import { timeZone, setTimeZone, zones } from './dates.js';
import { field, h, heading, notice } from './dom.js';
import { isAdmin, type Page, type PageContext } from './page.js';
import heartRatePage from './pages/heart-rate.js';
import keysPage from './pages/keys.js';
import metricPage from './pages/metric.js';
import sleepPage from './pages/sleep.js';
import todayPage from './pages/today.js';
import uploadsPage from './pages/uploads.js';
import { workoutPage, workoutsPage } from './pages/workouts.js';

/** The navigation bar: each section's first page. */
const SECTIONS: [string, string][] = [
  ['/', 'Today'],
  ['/heart-rate', 'Heart rate'],
  ['/sleep', 'Sleep'],
  ['/workouts', 'Workouts'],
  ['/metric', 'Any metric'],
  ['/uploads', 'Uploads'],
  ['/keys', 'Keys'],
];

interface Route {
  pattern: RegExp;
  page: Page;
  title: string;
  section: string;
}

const ROUTES: Route[] = [
  { pattern: /^\/$/, page: todayPage, title: 'Today and the last 30 days', section: '/' },
  { pattern: /^\/heart-rate$/, page: heartRatePage, title: 'Heart rate', section: '/heart-rate' },
  { pattern: /^\/sleep$/, page: sleepPage, title: 'Sleep', section: '/sleep' },
  { pattern: /^\/workouts$/, page: workoutsPage, title: 'Workouts', section: '/workouts' },
  { pattern: /^\/workouts\/(?<id>[0-9a-f-]{36})$/, page: workoutPage, title: 'Workout', section: '/workouts' },
  { pattern: /^\/metric$/, page: metricPage, title: 'Any metric', section: '/metric' },
  { pattern: /^\/uploads$/, page: uploadsPage, title: 'Uploads', section: '/uploads' },
  { pattern: /^\/uploads\/(?<id>[0-9a-f-]{36})$/, page: uploadsPage, title: 'Upload', section: '/uploads' },
  { pattern: /^\/keys$/, page: keysPage, title: 'Keys', section: '/keys' },
];

const header = document.getElementById('top')!;
const main = document.getElementById('main')!;
let me: Key | null = null;
/** True until the first page is drawn. */
let opened = true;

function navigate(url: string): void {
  history.pushState(null, '', url);
  void show();
}

function renderHeader(route: Route | undefined): void {
  if (!me) {
    header.replaceChildren(h('p', { class: 'brand' }, 'Health Export'));
    return;
  }
  const zoneSelect = h('select', { id: 'zone', onchange: (event) => (setTimeZone((event.target as HTMLSelectElement).value), void show()) });
  const current = timeZone();
  const all = zones().includes(current) ? zones() : [current, ...zones()];
  zoneSelect.append(...all.map((zone) => h('option', { value: zone, selected: zone === current }, zone)));
  header.replaceChildren(
    h('p', { class: 'brand' }, h('a', { href: '/' }, 'Health Export')),
    h(
      'nav',
      { 'aria-label': 'Pages' },
      h('ul', {}, SECTIONS.map(([href, name]) => h('li', {}, h('a', { href, 'aria-current': route?.section === href ? 'page' : null }, name)))),
    ),
    h(
      'div',
      { class: 'session' },
      field('Time zone', zoneSelect),
      h('span', { class: 'who' }, `${me.name}${isAdmin(me) ? ' (admin)' : ''}`),
      h('button', { type: 'button', onclick: signOut }, 'Sign out'),
    ),
  );
}

function signOut(): void {
  forgetKey();
  me = null;
  navigate('/');
}

function signInPage(message?: string): void {
  renderHeader(undefined);
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const status = h('div', { 'aria-live': 'polite' }, message ? notice(message, 'alert') : null);
  const form = h(
    'form',
    {
      class: 'card sign-in',
      onsubmit: async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        status.replaceChildren(notice('Checking the key…'));
        try {
          me = await api<Key>('/api/v1/auth/keys/current', { key });
          rememberKey(key);
          void show();
        } catch (error) {
          status.replaceChildren(notice(error instanceof ApiError && error.status === 401 ? 'The server does not accept this key.' : `Could not sign in: ${(error as Error).message}`, 'alert'));
        }
      },
    },
    field('API key', input),
    h('button', { type: 'submit' }, 'Sign in'),
    status,
  );
  main.replaceChildren(
    heading('Sign in'),
    h('p', {}, 'Paste an API key with the read scope. It is kept in this tab only (sessionStorage) and sent with each request.'),
    h(
      'p',
      { class: 'hint' },
      "Use a separate read key for the browser rather than the phone's: each key has its own rate-limit budget, and a read key cannot upload or change anything. An admin key also shows users, keys and the audit log.",
    ),
    form,
  );
  document.title = 'Sign in · Health Export';
  main.setAttribute('aria-busy', 'false');
  input.focus();
}

/** The address whose page is on screen: a fragment change (the skip link) is not a new page. */
let shown = '';

async function show(): Promise<void> {
  shown = location.pathname + location.search;
  const path = location.pathname;
  if (!storedKey()) return signInPage();
  if (!me) {
    try {
      me = await api<Key>('/api/v1/auth/keys/current');
    } catch (error) {
      forgetKey();
      return signInPage(error instanceof ApiError && error.status === 401 ? 'The key is no longer accepted: sign in again.' : (error as Error).message);
    }
  }
  const route = ROUTES.find((r) => r.pattern.test(path));
  renderHeader(route);
  if (!route) {
    main.replaceChildren(heading('Not found'), h('p', {}, 'No page here. '), h('p', {}, h('a', { href: '/' }, 'Back to today')));
    return;
  }
  document.title = `${route.title} · Health Export`;
  const context: PageContext = { params: route.pattern.exec(path)?.groups ?? {}, query: new URLSearchParams(location.search), zone: timeZone(), me, navigate };
  // A control that changed the page's query keeps the focus after the page is drawn again.
  const focused = document.activeElement?.id;
  const loading = notice('Loading…');
  main.replaceChildren(heading(route.title), loading);
  main.setAttribute('aria-busy', 'true');
  try {
    await route.page(main, context);
  } catch (error) {
    main.append(notice(`Could not load this page: ${(error as Error).message}`, 'alert'));
  } finally {
    loading.remove();
    main.setAttribute('aria-busy', 'false');
  }
  // After a navigation (not on opening the page, where the skip link comes first), the new page's heading.
  if (!opened) ((focused && document.getElementById(focused)) || main.querySelector('h1'))?.focus();
  opened = false;
}

document.addEventListener('click', (event) => {
  const link = (event.target as Element).closest('a');
  // In-page links (the skip link) keep the browser's own behaviour.
  if (!link || link.getAttribute('href')?.startsWith('#') || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/docs') || link.target) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== shown) void show();
});
whenUnauthorized(() => {
  forgetKey();
  me = null;
  signInPage('The key is no longer accepted: sign in again.');
});
void show();
