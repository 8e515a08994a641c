/**
 * Writes docs/benchmarks.md again from a results file and bench/analysis.md,
 * without measuring anything: for when the analysis changes, not the figures.
 *   npx tsx bench/render.ts bench/results/<date>.json
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../test/helpers/process.js';
import { checkTargets, renderMarkdown, type Results } from './report.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npx tsx bench/render.ts bench/results/<date>.json\n');
  process.exit(2);
}
const results = JSON.parse(await readFile(path.resolve(file), 'utf8')) as Results;
results.targets = checkTargets(results);
const analysis = await readFile(path.join(ROOT, 'bench/analysis.md'), 'utf8').catch(() => '');
await writeFile(path.join(ROOT, 'docs/benchmarks.md'), renderMarkdown(results, path.relative(ROOT, path.resolve(file)), analysis));
process.stdout.write('wrote docs/benchmarks.md\n');
