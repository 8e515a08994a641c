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
 * module that starts it. Later targets (the dashboard's browser assets) are
 * added to TARGETS.
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist');

const isTypeScript = (file) => file.endsWith('.ts');

/** Every .ts file under a folder of the repository. */
const sources = (folder) =>
  readdirSync(path.join(ROOT, folder), { recursive: true })
    .filter((file) => isTypeScript(file) && !file.endsWith('.d.ts'))
    .map((file) => path.join(ROOT, folder, file));

const TARGETS = [
  {
    name: 'server and CLI',
    options: {
      entryPoints: sources('src'),
      outbase: path.join(ROOT, 'src'),
      outdir: OUT,
      platform: 'node',
      format: 'esm',
      target: 'node20.12', // package.json's engines; import attributes (JSON imports) need 20.10
      sourcemap: 'linked',
      logLevel: 'warning',
    },
  },
];

export async function build() {
  // A file deleted from src/ must not live on in dist/.
  rmSync(OUT, { recursive: true, force: true });
  for (const target of TARGETS) await esbuild.build(target.options);
  // Data files the code imports or reads beside itself (translation tables as JSON) go along unchanged.
  cpSync(path.join(ROOT, 'src'), OUT, { recursive: true, filter: (source) => !isTypeScript(source) });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await build();
  process.stdout.write(`built dist/ in ${Date.now() - started} ms\n`);
}
