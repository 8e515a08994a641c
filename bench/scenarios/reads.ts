/**
 * Reads: the daily summary over a year of per-minute heart rate plus steps
 * (about 1,000,000 samples), one day of heart rate, one workout route as
 * GeoJSON, and a year's NDJSON export (rate and peak memory).
 *
 * NOT MEASURED YET: the read routes arrive with issue 7 (reading, query and
 * export), which is not merged. Once it is: load the year with
 * generateHaePayload (two 500,000-sample uploads), time each route with
 * runLoad (bench/lib/load.ts), measure the export like the memory figure, and
 * replace this placeholder. No number is reported until then.
 */
export const READS = {
  pending: 'The read routes arrive with issue 7 (reading, query and export), not merged yet; nothing is measured and no number is reported.',
  targets: [
    'daily summary over a year of per-minute heart rate plus steps: under 300 ms',
    'one day of heart rate: under 50 ms',
    'one workout route as GeoJSON: (no target set)',
    "a year's NDJSON export: 50 MB/s or more, memory growth under 100 MB",
  ],
};
