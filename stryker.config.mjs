// @ts-check
/**
 * Mutation testing of the fidelity core (docs/testing.md): `npm run mutate`.
 * Not part of CI: a full run takes hours on two cores. Each mutant runs only the
 * tests that covered its line in the dry run (perTest), one at a time (the tests
 * share one database per worker). The report goes to reports/mutation/.
 * Scope one folder with `npm run mutate -- --mutate 'src/auth/**'`.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['src/ingest/**/*.ts', 'src/storage/samples/**/*.ts', 'src/storage/repositories/summary.ts', 'src/auth/**/*.ts'],
  coverageAnalysis: 'perTest',
  // Mutants in code that runs when a module loads (table specs, SQL text built once) can
  // only be tested by re-running the whole selection for each: 69 % of the mutants and
  // 96 % of the time on two cores. They are left out of the score (docs/testing.md).
  ignoreStatic: true,
  concurrency: 1,
  // A mutant that makes a test loop forever is stopped after this (on top of the dry run's time).
  timeoutMS: 20_000,
  timeoutFactor: 2,
  // The first run of the whole selection, instrumented, takes minutes on two cores.
  dryRunTimeoutMinutes: 60,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // Resumable: a second run only tests mutants whose code or tests changed.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 80, low: 60, break: null },
};
