/** Any quantity metric over a range, in its canonical unit or another (?unit=, converted by the server). */
import { allPages, withQuery, type Metric, type MetricSample } from '../api.js';
import { timeChart } from '../chart.js';
import { addDays, dateOf, isDate, midnight, seconds } from '../dates.js';
import { append, field, h, notice, table } from '../dom.js';
import { shown } from '../format.js';
import type { Page } from '../page.js';

/** Enough for any chart; the range is narrowed past it. */
const MAX_POINTS = 100_000;

const metricPage: Page = async (main, { query, zone, navigate }) => {
  const metrics = (await allPages<Metric>('/api/v1/data/metrics', {})).filter((metric) => metric.path.startsWith('/api/v1/data/metrics/'));
  if (metrics.length === 0) {
    append(main, notice('No metrics yet.'));
    return;
  }
  const metric = metrics.find((m) => m.name === query.get('name')) ?? metrics.find((m) => m.name === 'step_count') ?? metrics[0]!;
  const end = isDate(query.get('end')) ? query.get('end')! : dateOf(metric.last, zone);
  const start = isDate(query.get('start')) && query.get('start')! <= end ? query.get('start')! : addDays(end, -6);
  const unit = query.get('unit')?.trim() || '';
  const form = h(
    'form',
    {
      class: 'controls',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        navigate(withQuery('/metric', Object.fromEntries([...data.entries()].map(([name, value]) => [name, String(value)]))));
      },
    },
    field('Metric', h('select', { id: 'metric-name', name: 'name' }, metrics.map((m) => h('option', { value: m.name, selected: m === metric }, `${m.name} (${m.count})`)))),
    field('From', h('input', { type: 'date', id: 'metric-start', name: 'start', value: start })),
    field('To', h('input', { type: 'date', id: 'metric-end', name: 'end', value: end })),
    field(`Unit (stored in ${metric.unit})`, h('input', { type: 'text', id: 'metric-unit', name: 'unit', value: unit, placeholder: metric.unit, autocomplete: 'off', size: 8 })),
    h('button', { type: 'submit' }, 'Show'),
  );
  append(main, form);
  const samples = await allPages<MetricSample>(`/api/v1/data/metrics/${encodeURIComponent(metric.name)}`, { start: midnight(start, zone), end: midnight(addDays(end, 1), zone), unit: unit || undefined }, MAX_POINTS);
  if (samples.length === 0) {
    append(main, notice(`No ${metric.name} from ${start} to ${end}.`));
    return;
  }
  const shownUnit = samples[0]!.unit;
  const values = samples.map((sample) => sample.value);
  append(main, 
    h(
      'dl',
      { class: 'cards' },
      h('div', { class: 'card', 'data-measure': 'count' }, h('dt', {}, 'Samples'), h('dd', {}, shown(samples.length))),
      h('div', { class: 'card', 'data-measure': 'min' }, h('dt', {}, `Lowest (${shownUnit})`), h('dd', {}, shown(Math.min(...values), 3))),
      h('div', { class: 'card', 'data-measure': 'max' }, h('dt', {}, `Highest (${shownUnit})`), h('dd', {}, shown(Math.max(...values), 3))),
    ),
    samples.length >= MAX_POINTS ? notice(`Showing the first ${MAX_POINTS.toLocaleString()} samples: choose a shorter range for the rest.`) : null,
    timeChart({
      title: `${metric.name} (${shownUnit})`,
      x: samples.map((sample) => seconds(sample.start)),
      lines: [{ label: metric.name, values, colour: 'accent', kind: samples.length > 500 ? 'line' : 'points' }],
      zone,
      height: 260,
    }),
    table(
      `Latest samples (${Math.min(samples.length, 50)} of ${samples.length})`,
      ['Start', 'Source', `Value (${shownUnit})`],
      samples.slice(-50).reverse().map((sample) => [sample.start, sample.source, shown(sample.value, 3)]),
    ),
  );
};

export default metricPage;
