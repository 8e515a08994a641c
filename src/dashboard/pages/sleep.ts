/**
 * Sleep over a range of nights: stage totals per night (a stacked bar per date,
 * and a table of every night the API lists), and the hypnogram of one night,
 * drawn from its stage segments.
 */
import { allPages, withQuery, type SleepNight, type SleepSegment } from '../api.js';
import { timeChart } from '../chart.js';
import { addDays, isDate, midnight, seconds, time, today } from '../dates.js';
import { append, field, h, notice, table } from '../dom.js';
import { shown } from '../format.js';
import type { Page } from '../page.js';

/** Hypnogram levels, deepest lowest; In Bed is not a stage of sleep and is left out. */
const LEVELS: Record<string, number> = { Deep: 1, Core: 2, Asleep: 2, Unspecified: 2, REM: 3, Awake: 4 };
const LEVEL_NAMES = { 1: 'Deep', 2: 'Core', 3: 'REM', 4: 'Awake' };

const nightId = (night: SleepNight) => `${night.date}|${night.origin}|${night.source}`;

/** Per date, the night the daily summary prefers: built from segments, then the longer sleep. */
function nightPerDate(nights: SleepNight[]): SleepNight[] {
  const chosen = new Map<string, SleepNight>();
  for (const night of nights) {
    const other = chosen.get(night.date);
    const better = !other || (night.origin === 'segments' && other.origin !== 'segments') || (night.origin === other.origin && (night.asleep_h ?? 0) > (other.asleep_h ?? 0));
    if (better) chosen.set(night.date, night);
  }
  return [...chosen.values()].sort((a, b) => (a.date < b.date ? -1 : 1));
}

async function hypnogram(night: SleepNight, zone: string): Promise<HTMLElement> {
  const end = new Date(Date.parse(night.end) + 1).toISOString();
  const segments = (await allPages<SleepSegment>('/api/v1/data/sleep', { detail: 'segments', start: night.start, end, source: night.source }))
    .filter((segment) => segment.stage in LEVELS)
    .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const x: number[] = [];
  const y: number[] = [];
  for (const segment of segments) {
    x.push(seconds(segment.start), seconds(segment.end));
    y.push(LEVELS[segment.stage]!, LEVELS[segment.stage]!);
  }
  return timeChart({
    title: `Hypnogram, night of ${night.date} (${night.source || 'no source'}), ${time(night.start, zone)} to ${time(night.end, zone)}`,
    x,
    lines: [{ label: 'Stage', values: y, colour: 'sleep', kind: 'steps' }],
    yLabels: LEVEL_NAMES,
    zone,
  });
}

const sleepPage: Page = async (main, { query, zone, navigate }) => {
  const end = isDate(query.get('end')) ? query.get('end')! : today(zone);
  const start = isDate(query.get('start')) && query.get('start')! <= end ? query.get('start')! : addDays(end, -13);
  const go = (changes: Record<string, string>) => navigate(withQuery('/sleep', { start, end, ...changes }));
  append(main, 
    h(
      'form',
      { class: 'controls', onsubmit: (event) => event.preventDefault() },
      field('From', h('input', { type: 'date', id: 'sleep-start', value: start, onchange: (event) => go({ start: (event.target as HTMLInputElement).value }) })),
      field('To', h('input', { type: 'date', id: 'sleep-end', value: end, onchange: (event) => go({ end: (event.target as HTMLInputElement).value }) })),
    ),
  );
  const nights = await allPages<SleepNight>('/api/v1/data/sleep', { detail: 'nights', tz: zone, start: midnight(start, zone), end: midnight(addDays(end, 1), zone) });
  if (nights.length === 0) {
    append(main, notice(`No sleep from ${start} to ${end}.`));
    return;
  }
  const perDate = nightPerDate(nights);
  const x = perDate.map((night) => seconds(midnight(night.date, zone)));
  // Stacked: each bar is drawn over the taller one before it.
  const stack = (parts: (keyof SleepNight)[]) => perDate.map((night) => parts.reduce((total, part) => total + ((night[part] as number | null) ?? 0), 0));
  const withSegments = nights.filter((night) => night.origin === 'segments');
  const selected = nights.find((night) => nightId(night) === query.get('night')) ?? withSegments.at(-1);
  append(main, 
    timeChart({
      title: 'Stages per night (h): deep, core, REM and awake, stacked',
      x,
      lines: [
        { label: 'Awake', values: stack(['deep_h', 'core_h', 'rem_h', 'awake_h']), colour: 'awake', kind: 'bars' },
        { label: 'REM', values: stack(['deep_h', 'core_h', 'rem_h']), colour: 'rem', kind: 'bars' },
        { label: 'Core', values: stack(['deep_h', 'core_h']), colour: 'core', kind: 'bars' },
        { label: 'Deep', values: stack(['deep_h']), colour: 'deep', kind: 'bars' },
      ],
      zone,
    }),
    h('ul', { class: 'legend' }, ['deep', 'core', 'rem', 'awake'].map((stage) => h('li', { class: `key-${stage}` }, stage === 'rem' ? 'REM' : stage[0]!.toUpperCase() + stage.slice(1)))),
    selected && selected.origin === 'segments' ? await hypnogram(selected, zone) : notice('No night in this range has stage segments to draw a hypnogram from (the app sent summarised nights only).'),
    table(
      'Nights',
      ['Night of', 'Source', 'Built from', 'Asleep (h)', 'Core', 'Deep', 'REM', 'Awake', 'In bed'],
      [...nights].reverse().map((night) => [
        night.origin === 'segments'
          ? h('a', { href: withQuery('/sleep', { start, end, night: nightId(night) }), 'aria-current': night === selected ? 'true' : null }, night.date)
          : night.date,
        night.source,
        night.origin === 'segments' ? 'stage segments' : 'summarised',
        shown(night.asleep_h, 2),
        shown(night.core_h, 2),
        shown(night.deep_h, 2),
        shown(night.rem_h, 2),
        shown(night.awake_h, 2),
        shown(night.in_bed_h, 2),
      ]),
      { class: 'nights' },
    ),
  );
};

export default sleepPage;
