/** Reads the Prometheus text exposition format, as a scraper would. */
import type { FastifyInstance } from 'fastify';

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseScrape(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of match[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[name!] = value!;
    series.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return series;
}

/** Every name a query may use: each metric's own, plus _bucket, _sum and _count for histograms and summaries. */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name! + suffix);
  }
  return names;
}

/** What the metrics listener would serve (the API port serves no /metrics; metrics-port.test.ts covers the listener). */
export async function scrape(app: FastifyInstance): Promise<{ text: string; series: Series[] }> {
  const { body } = await app.services.metrics.scrape();
  return { text: body, series: parseScrape(body) };
}

/** The sum of every series of `name` whose labels include `where`. */
export function total(series: Series[], name: string, where: Record<string, string> = {}): number {
  return series
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
