/**
 * `npm run build` (also run by `npm install` through `prepare`, and before `npm test`):
 * compiles src/ into dist/, which `npm start` and `npm run cli` run with plain node.
 * Production runs one node process: a wrapper such as tsx relays signals to a child
 * and kills it when it does not acknowledge them at once, so a Ctrl-C dropped
 * uploads in flight (issue 13).
 *
 * Plain JavaScript, and esbuild is a dependency, so the build works under
 * `npm install --omit=dev`. Each file is compiled on its own into the same place
 * under dist/ (not bundled): paths a module resolves from its own location, such
 * as ../../migrations, point at the same files from dist/ as from src/.
 * Entries started as threads are compiled with the rest: the parse thread
 * (src/ingest/parse-worker.ts) runs as dist/ingest/parse-worker.js beside the
 * module that starts it. The dashboard (src/dashboard/, browser code) is bundled
 * instead, into dist/public/: one script and one stylesheet with content hashes
 * in their names (served with a year's cache), and index.html naming them.
 */
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist');

const DASHBOARD = path.join(ROOT, 'src/dashboard');
const PUBLIC = path.join(OUT, 'public');

const isTypeScript = (file) => file.endsWith('.ts');
/** The browser's code is bundled by its own target, never compiled or copied as a server file. */
const isDashboard = (file) => {
  const full = path.resolve(ROOT, 'src', file);
  return full === DASHBOARD || full.startsWith(DASHBOARD + path.sep);
};

/** Every .ts file of the server under src/. */
const serverSources = () =>
  readdirSync(path.join(ROOT, 'src'), { recursive: true })
    .filter((file) => isTypeScript(file) && !file.endsWith('.d.ts') && !isDashboard(file))
    .map((file) => path.join(ROOT, 'src', file));

const TARGETS = [
  {
    name: 'server and CLI',
    options: {
      entryPoints: serverSources(),
      outbase: path.join(ROOT, 'src'),
      outdir: OUT,
      platform: 'node',
      format: 'esm',
      target: 'node20.12', // package.json's engines; import attributes (JSON imports) need 20.10
      sourcemap: 'linked',
      logLevel: 'warning',
    },
  },
  {
    name: 'dashboard',
    options: {
      entryPoints: { app: path.join(DASHBOARD, 'main.ts') },
      outdir: path.join(PUBLIC, 'assets'),
      entryNames: '[name]-[hash]',
      bundle: true,
      minify: true,
      platform: 'browser',
      format: 'esm',
      target: ['chrome110', 'firefox115', 'safari16'],
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'warning',
    },
    /** index.html names the hashed files esbuild wrote. */
    after(result) {
      const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
      const named = (ext) => outputs.find((file) => file.startsWith('app-') && file.endsWith(ext));
      const html = readFileSync(path.join(DASHBOARD, 'index.html'), 'utf8')
        .replace('%SCRIPT%', `/assets/${named('.js')}`)
        .replace('%STYLE%', `/assets/${named('.css')}`);
      mkdirSync(PUBLIC, { recursive: true });
      writeFileSync(path.join(PUBLIC, 'index.html'), html);
    },
  },
];

export async function build() {
  // A file deleted from src/ must not live on in dist/.
  rmSync(OUT, { recursive: true, force: true });
  for (const target of TARGETS) {
    const result = await esbuild.build(target.options);
    target.after?.(result);
  }
  // Data files the code imports or reads beside itself (translation tables as JSON) go along unchanged.
  cpSync(path.join(ROOT, 'src'), OUT, { recursive: true, filter: (source) => !isTypeScript(source) && !isDashboard(path.relative(path.join(ROOT, 'src'), source)) });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await build();
  process.stdout.write(`built dist/ in ${Date.now() - started} ms\n`);
}
