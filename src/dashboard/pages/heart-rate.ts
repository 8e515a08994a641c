/**
 * Heart rate as min/avg/max bands from the series endpoint: a day in one-minute
 * buckets, a year in daily ones (at most 1,440 or 366 points, never the raw samples).
 */
import { api, withQuery, type List, type SeriesBucket } from '../api.js';
import { timeChart } from '../chart.js';
import { addDays, dateOf, isDate, midnight, seconds, today } from '../dates.js';
import { append, field, h, notice, table } from '../dom.js';
import { shown } from '../format.js';
import type { Page } from '../page.js';

const heartRatePage: Page = async (main, { query, zone, navigate }) => {
  const view = query.get('view') === 'year' ? 'year' : 'day';
  const date = isDate(query.get('date')) ? query.get('date')! : today(zone);
  const year = date.slice(0, 4);
  const [start, end, bucket] =
    view === 'day' ? [midnight(date, zone), midnight(addDays(date, 1), zone), '1m'] : [midnight(`${year}-01-01`, zone), midnight(`${Number(year) + 1}-01-01`, zone), '1d'];
  const go = (changes: Record<string, string>) => navigate(withQuery('/heart-rate', { view, date, ...changes }));
  const viewSelect = h('select', { id: 'hr-view', onchange: (event) => go({ view: (event.target as HTMLSelectElement).value }) },
    h('option', { value: 'day', selected: view === 'day' }, 'A day, per minute'),
    h('option', { value: 'year', selected: view === 'year' }, 'A year, per day'),
  );
  const picker = h('input', { type: 'date', id: 'hr-date', value: date, onchange: (event) => go({ date: (event.target as HTMLInputElement).value }) });
  append(main, h('form', { class: 'controls', onsubmit: (event) => event.preventDefault() }, field('Show', viewSelect), field(view === 'day' ? 'Day' : 'A day of the year', picker)));

  const { items } = await api<List<SeriesBucket>>(withQuery('/api/v1/data/heart-rate/series', { start, end, tz: zone, bucket }));
  if (items.length === 0) {
    append(main, notice(view === 'day' ? `No heart rate on ${date}.` : `No heart rate in ${year}.`));
    return;
  }
  const count = items.reduce((total, item) => total + item.count, 0);
  // A bucket's sum is null when it is too large for a float8: then no average rather than a wrong one.
  const sum = items.reduce<number | null>((total, item) => (total === null || item.sum === null ? null : total + item.sum), 0);
  const lowest = Math.min(...items.map((item) => item.min));
  const highest = Math.max(...items.map((item) => item.max));
  const x = items.map((item) => seconds(item.start));
  append(main, 
    h(
      'dl',
      { class: 'cards' },
      h('div', { class: 'card', 'data-measure': 'min' }, h('dt', {}, 'Lowest (bpm)'), h('dd', {}, shown(lowest))),
      h('div', { class: 'card', 'data-measure': 'avg' }, h('dt', {}, 'Average (bpm)'), h('dd', {}, shown(sum === null ? null : sum / count, 1))),
      h('div', { class: 'card', 'data-measure': 'max' }, h('dt', {}, 'Highest (bpm)'), h('dd', {}, shown(highest))),
      h('div', { class: 'card', 'data-measure': 'count' }, h('dt', {}, 'Samples'), h('dd', {}, shown(count))),
    ),
    timeChart({
      title: view === 'day' ? `Heart rate on ${date}, per minute: min to max, and average (bpm)` : `Heart rate in ${year}, per day: min to max, and average (bpm)`,
      x,
      lines: [
        { label: 'Min', values: items.map((item) => item.min), colour: 'band' },
        { label: 'Average', values: items.map((item) => item.avg), colour: 'heart' },
        { label: 'Max', values: items.map((item) => item.max), colour: 'band' },
      ],
      band: [0, 2],
      xRange: [seconds(start), seconds(end)],
      zone,
      height: 280,
    }),
    view === 'year'
      ? table('Heart rate per day', ['Day', 'Min', 'Average', 'Max', 'Samples'], items.map((item) => [dateOf(item.start, zone), shown(item.min), shown(item.avg, 1), shown(item.max), shown(item.count)]))
      : null,
  );
};

export default heartRatePage;
