/**
 * Time charts drawn by uPlot on a canvas (fast at 100k points, no CDN). Colours
 * come from the stylesheet's custom properties, so dark mode changes them too;
 * the figure names the colours its data are drawn in (data-colors), which the
 * browser tests look for among the canvas's pixels.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.js';

export type Colour = 'accent' | 'band' | 'steps' | 'sleep' | 'deep' | 'core' | 'rem' | 'awake' | 'heart';

const cssVariable = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
export const colour = (name: Colour): string => cssVariable(`--chart-${name}`);

export interface Line {
  label: string;
  values: (number | null)[];
  colour: Colour;
  /** line (default), bars, points, or steps (a hypnogram). */
  kind?: 'line' | 'bars' | 'points' | 'steps';
  /** Fill down to the x axis (bars always are). */
  fill?: boolean;
}

export interface ChartOptions {
  title: string;
  /** x values in seconds since the epoch. */
  x: number[];
  lines: Line[];
  zone: string;
  /** Fill between two lines (indices into `lines`), as a min/max band. */
  band?: [number, number];
  /** The time span the x axis shows (seconds), when it is wider than the data: a whole day or year. */
  xRange?: [number, number];
  /** Labels for y values (the stages of a hypnogram). */
  yLabels?: Record<number, string>;
  height?: number;
}

const tickLabel = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

function pathsOf(kind: Line['kind']): uPlot.Series.PathBuilder | undefined {
  if (kind === 'bars') return uPlot.paths.bars!({ size: [0.7, 40] });
  if (kind === 'steps') return uPlot.paths.stepped!({ align: 1 });
  return undefined;
}

/** A figure holding the chart; it follows its container's width. */
export function timeChart(options: ChartOptions): HTMLElement {
  const drawn = options.lines.map((line) => colour(line.colour));
  const figure = h('figure', { class: 'chart', 'data-colors': drawn.join(',') }, h('figcaption', {}, options.title));
  const plotArea = h('div', { class: 'plot', role: 'img', 'aria-label': `${options.title} (chart; the numbers are in the table on this page)` });
  figure.append(plotArea);
  const axisColour = cssVariable('--fg');
  const gridColour = cssVariable('--grid');
  const axis = (extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({ stroke: axisColour, grid: { stroke: gridColour, width: 1 }, ticks: { stroke: gridColour, width: 1 }, ...extra });
  const yLabels = options.yLabels;
  const config: uPlot.Options = {
    width: 300,
    height: options.height ?? 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), options.zone),
    legend: { show: false },
    cursor: { drag: { x: true, y: false } },
    scales: { x: options.xRange ? { time: true, range: () => options.xRange! } : { time: true } },
    axes: [axis(), axis({ values: (_u, ticks) => ticks.map((tick) => (yLabels ? (yLabels[tick] ?? '') : tickLabel.format(tick))), size: 60 })],
    series: [
      {},
      ...options.lines.map((line, i): uPlot.Series => ({
        label: line.label,
        stroke: drawn[i],
        width: line.kind === 'points' ? 0 : 2,
        fill: line.kind === 'bars' || line.fill ? drawn[i] : undefined,
        paths: pathsOf(line.kind),
        points: { show: line.kind === 'points', size: 4, fill: drawn[i], stroke: drawn[i] },
        spanGaps: false,
      })),
    ],
    bands: options.band ? [{ series: [options.band[1] + 1, options.band[0] + 1], fill: colour('band') }] : [],
  };
  if (yLabels) config.scales!.y = { range: () => [0.5, Math.max(...Object.keys(yLabels).map(Number)) + 0.5] };
  // Bars are amounts: their axis starts at zero.
  else if (options.lines.every((line) => line.kind === 'bars')) config.scales!.y = { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] };
  const plot = new uPlot(config, [options.x, ...options.lines.map((line) => line.values)] as uPlot.AlignedData, plotArea);
  const fit = () => plot.setSize({ width: Math.max(200, plotArea.clientWidth), height: options.height ?? 220 });
  new ResizeObserver(fit).observe(plotArea);
  return figure;
}
