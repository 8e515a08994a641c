/** Today and the 30 days before it, from the daily summary in the chosen zone. */
import { api, withQuery, type DailySummary, type List } from '../api.js';
import { timeChart } from '../chart.js';
import { addDays, isDate, midnight, seconds, today } from '../dates.js';
import { append, field, h, table } from '../dom.js';
import { km, shown } from '../format.js';
import type { Page } from '../page.js';

interface Measure {
  key: string;
  label: string;
  digits: number;
  value: (day: DailySummary) => number | null;
  convert?: (value: number) => number;
}

const MEASURES: Measure[] = [
  { key: 'steps', label: 'Steps', digits: 0, value: (d) => d.steps },
  { key: 'distance', label: 'Distance (km)', digits: 2, value: (d) => d.distance_m, convert: km },
  { key: 'active_energy', label: 'Active energy (kcal)', digits: 0, value: (d) => d.active_energy_kcal },
  { key: 'exercise', label: 'Exercise (min)', digits: 0, value: (d) => d.exercise_min },
  { key: 'resting_heart_rate', label: 'Resting heart rate (bpm)', digits: 0, value: (d) => d.resting_heart_rate },
  { key: 'hrv', label: 'HRV (ms)', digits: 1, value: (d) => d.hrv_ms },
  { key: 'sleep', label: 'Sleep (h)', digits: 1, value: (d) => d.sleep.asleep_h },
];

const measure = (key: string): Measure => MEASURES.find((m) => m.key === key)!;

const todayPage: Page = async (main, { query, zone, navigate }) => {
  const date = isDate(query.get('date')) ? query.get('date')! : today(zone);
  const picker = h('input', { type: 'date', id: 'date', value: date, onchange: (event) => navigate(withQuery('/', { date: (event.target as HTMLInputElement).value })) });
  const { items } = await api<List<DailySummary>>(withQuery('/api/v1/summary/daily', { start: addDays(date, -29), end: date, tz: zone }));
  const day = items.at(-1)!;
  const x = items.map((item) => seconds(midnight(item.date, zone)));
  const series = (m: Measure) =>
    items.map((item) => {
      const value = m.value(item);
      return value === null ? null : (m.convert ?? ((v: number) => v))(value);
    });
  append(main, 
    h('form', { class: 'controls', onsubmit: (event) => event.preventDefault() }, field('Day', picker)),
    h(
      'section',
      { 'aria-labelledby': 'day-heading' },
      h('h2', { id: 'day-heading' }, date === today(zone) ? 'Today' : date),
      h('dl', { class: 'cards' }, MEASURES.map((m) => h('div', { class: 'card', 'data-measure': m.key }, h('dt', {}, m.label), h('dd', {}, shown(m.value(day), m.digits, m.convert))))),
    ),
    h(
      'section',
      { 'aria-labelledby': 'month-heading' },
      h('h2', { id: 'month-heading' }, 'The last 30 days'),
      h(
        'div',
        { class: 'charts' },
        timeChart({ title: 'Steps per day', x, lines: [{ label: 'Steps', values: series(measure('steps')), colour: 'steps', kind: 'bars' }], zone }),
        timeChart({ title: 'Sleep per night (h)', x, lines: [{ label: 'Sleep', values: series(measure('sleep')), colour: 'sleep', kind: 'bars' }], zone }),
        timeChart({ title: 'Resting heart rate (bpm)', x, lines: [{ label: 'Resting heart rate', values: series(measure('resting_heart_rate')), colour: 'heart', kind: 'line' }], zone }),
      ),
      table(
        'Daily summary',
        ['Date', ...MEASURES.map((m) => m.label)],
        [...items].reverse().map((item) => [item.date, ...MEASURES.map((m) => shown(m.value(item), m.digits, m.convert))]),
        { class: 'summary' },
      ),
    ),
  );
};

export default todayPage;
