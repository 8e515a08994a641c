/** The real services the tests may use, named by TEST_* variables. */
export const testServices = {
  databaseUrl: process.env.TEST_DATABASE_URL || undefined,
  redisUrl: process.env.TEST_REDIS_URL || undefined,
  mqttUrl: process.env.TEST_MQTT_URL || undefined,
  required: process.env.REQUIRE_SERVICES === '1',
};

/** Databases a test run creates are named `hea_t<run>_…`, so parallel runs never touch each other's. */
export function runDatabasePrefix(run: string): string {
  return `hea_t${run}_`;
}

/** The same server and credentials, another database name. */
export function adminUrl(url: string, database = 'postgres'): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
