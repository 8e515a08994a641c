/** Workouts: the list, and one workout with its route and heart-rate series. */
import { allPages, api, type SeriesPoint, type Workout, type WorkoutDetail } from '../api.js';
import { timeChart } from '../chart.js';
import { dateTime, seconds } from '../dates.js';
import { append, h, notice, table } from '../dom.js';
import { duration, km, shown } from '../format.js';
import { routeMap } from '../map.js';
import type { Page } from '../page.js';

export const workoutsPage: Page = async (main, { zone }) => {
  const workouts = await allPages<Workout>('/api/v1/data/workouts', { order: 'desc' }, 1000);
  if (workouts.length === 0) {
    append(main, notice('No workouts yet.'));
    return;
  }
  append(main, 
    table(
      'Workouts, newest first',
      ['Workout', 'Started', 'Duration', 'Distance (km)', 'Active energy (kcal)', 'Average heart rate (bpm)', 'Route'],
      workouts.map((workout) => [
        h('a', { href: `/workouts/${workout.id}` }, workout.name),
        dateTime(workout.start, zone),
        workout.duration_s === null ? '–' : duration(workout.duration_s),
        shown(workout.distance_m, 2, km),
        shown(workout.active_energy_kcal),
        shown(workout.heart_rate.avg),
        workout.has_route ? 'yes' : 'no',
      ]),
      { class: 'workouts' },
    ),
  );
};

/** The heart-rate series as a min/max band with its average, or a line where the app sent one value per point. */
function heartRateChart(points: SeriesPoint[], zone: string): HTMLElement {
  const x = points.map((point) => seconds(point.time));
  const average = points.map((point) => point.avg ?? point.qty);
  const banded = points.some((point) => point.min !== null && point.max !== null);
  return timeChart({
    title: 'Heart rate during the workout (bpm)',
    x,
    lines: banded
      ? [
          { label: 'Min', values: points.map((point) => point.min), colour: 'band' },
          { label: 'Average', values: average, colour: 'heart' },
          { label: 'Max', values: points.map((point) => point.max), colour: 'band' },
        ]
      : [{ label: 'Heart rate', values: average, colour: 'heart' }],
    band: banded ? [0, 2] : undefined,
    zone,
  });
}

export const workoutPage: Page = async (main, { params, zone }) => {
  const workout = await api<WorkoutDetail>(`/api/v1/data/workouts/${params.id}`);
  main.querySelector('h1')!.textContent = workout.name;
  document.title = `${workout.name} · Health Export`;
  const heartRate = workout.series.heartRateData ?? [];
  append(main, 
    h('p', {}, h('a', { href: '/workouts' }, 'All workouts'), ` · ${dateTime(workout.start, zone)}`),
    h(
      'dl',
      { class: 'cards' },
      h('div', { class: 'card', 'data-measure': 'duration' }, h('dt', {}, 'Duration'), h('dd', {}, workout.duration_s === null ? '–' : duration(workout.duration_s))),
      h('div', { class: 'card', 'data-measure': 'distance' }, h('dt', {}, 'Distance (km)'), h('dd', {}, shown(workout.distance_m, 2, km))),
      h('div', { class: 'card', 'data-measure': 'active_energy' }, h('dt', {}, 'Active energy (kcal)'), h('dd', {}, shown(workout.active_energy_kcal))),
      h('div', { class: 'card', 'data-measure': 'heart_rate_avg' }, h('dt', {}, 'Average heart rate (bpm)'), h('dd', {}, shown(workout.heart_rate.avg))),
      h('div', { class: 'card', 'data-measure': 'heart_rate_max' }, h('dt', {}, 'Highest heart rate (bpm)'), h('dd', {}, shown(workout.heart_rate.max))),
    ),
    workout.route ? routeMap(workout.route.coordinates, `Route of ${workout.name}`) : notice('This workout has no route.'),
    heartRate.length > 0 ? heartRateChart(heartRate, zone) : notice('This workout has no heart-rate series.'),
  );
};
