/**
 * monitoring/: the alert rules are valid and behave (promtool), and every
 * metric the rules and the dashboard query is one the app really exports, so a
 * renamed metric cannot leave a silent alert or an empty panel behind.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ROOT } from '../helpers/process.js';
import { exportedNames, scrape } from '../helpers/prometheus.js';

const MONITORING = path.join(ROOT, 'monitoring');
const RULES = path.join(MONITORING, 'prometheus/alerts.yml');
const RULE_TESTS = path.join(MONITORING, 'prometheus/alerts.test.yml');
const DASHBOARD = path.join(MONITORING, 'grafana/health-export-api.json');
/** Made by Prometheus itself for every target, not by the app. */
const FROM_PROMETHEUS = new Set(['up']);

interface Dashboard {
  panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[];
  templating: { list: { definition?: string }[] };
  __inputs: { name: string }[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

describe.skipIf(!inject('promtoolAvailable'))('alert rules with promtool', () => {
  it('pass promtool check rules', () => {
    const output = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(output).toMatch(/SUCCESS: 8 rules found/);
  });

  it('fire as their unit tests expect (rejections above 10% and 25%, a queue older than 10 minutes, ...)', () => {
    const output = execFileSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    expect(output).toMatch(/SUCCESS/);
  });
});

describe('metric names in the rules and the dashboard', () => {
  let t: TestApp;
  let exported: Set<string>;
  beforeAll(async () => {
    t = await createTestApp('embedded');
    exported = exportedNames((await scrape(t.app)).text);
  });
  afterAll(() => t.close());

  it('are all exported by the app', () => {
    const used = new Set([...ruleExpressions().flatMap(metricNames), ...dashboardExpressions().flatMap(metricNames)]);
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !exported.has(name) && !FROM_PROMETHEUS.has(name))).toEqual([]);
  });

  it('cover every alert the issue lists', () => {
    const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((match) => match[1]);
    expect(alerts.sort()).toEqual(
      [
        'HealthExportDatabasePoolSaturated',
        'HealthExportIngestionQueueStuck',
        'HealthExportRateLimitStoreDegraded',
        'HealthExportSampleRejectionsCritical',
        'HealthExportSampleRejectionsHigh',
        'HealthExportServerErrors',
        'HealthExportSlowRequests',
        'HealthExportTargetDown',
      ].sort(),
    );
  });

  it('give the dashboard a panel for each view the issue lists', () => {
    const panelsUsing = (name: string) =>
      dashboard.panels.filter((panel) => (panel.targets ?? []).some((target) => metricNames(target.expr).includes(name)));
    for (const name of [
      'health_export_http_requests_total', // request rate, error rate
      'health_export_http_request_duration_seconds_bucket', // latency percentiles
      'health_export_ingest_samples_total', // samples by outcome, rejection rate
      'health_export_ingest_queue_depth',
      'health_export_ingest_oldest_queued_seconds',
      'health_export_db_pool_connections',
      'health_export_rate_limited_requests_total',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(panelsUsing(name), name).not.toEqual([]);
    }
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.__inputs.map((input) => input.name)).toEqual(['DS_PROMETHEUS']);
  });
});

/** The `expr` of each rule: single-line, or a `|` block indented below it. */
function ruleExpressions(): string[] {
  const lines = readFileSync(RULES, 'utf8').split('\n');
  const expressions: string[] = [];
  lines.forEach((line, index) => {
    const match = /^(\s*)expr: (.*)$/.exec(line);
    if (!match) return;
    if (match[2] !== '|' && match[2] !== '>') return void expressions.push(match[2]!);
    const block: string[] = [];
    for (const next of lines.slice(index + 1)) {
      if (next.trim() !== '' && next.search(/\S/) <= match[1]!.length) break;
      block.push(next);
    }
    expressions.push(block.join('\n'));
  });
  return expressions;
}

function dashboardExpressions(): string[] {
  const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const variables = dashboard.templating.list.map((variable) => variable.definition ?? '');
  return [...targets, ...variables];
}

/** The metric names a PromQL expression (or a Grafana label_values query) reads. */
function metricNames(expr: string): string[] {
  const labelValues = /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1]!];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (match[2] || ['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'].includes(match[1]!.toLowerCase())) continue;
    names.push(match[1]!);
  }
  return names;
}
