/**
 * The suite as StrykerJS runs it for each mutant (npm run mutate): the tests that
 * exercise the mutated folders in this process. Tests that spawn the server
 * (test/process, the client scripts) run the unmutated source in a child, so they
 * can kill no mutant; monitoring and document tests would only slow each run.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Replaces the base list (mergeConfig would append to it and run everything).
    // MUTATE_TESTS (comma-separated globs) narrows it further for a run on one folder.
    include: process.env.MUTATE_TESTS?.split(',') ?? [
      'test/ingest/**/*.test.ts',
      'test/storage/**/*.test.ts',
      'test/http/**/*.test.ts',
      'test/reading/summary.test.ts',
      'test/reading/isolation.test.ts',
      'test/reading/export.test.ts',
    ],
    // Instrumented code runs several times slower: the load tests (ten thousand requests) need room.
    testTimeout: 600_000,
  },
});
