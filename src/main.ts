/**
 * The process entry: read the configuration, start the server, and shut it
 * down in order on SIGTERM or SIGINT within SHUTDOWN_TIMEOUT_SECONDS
 * (src/shutdown.ts).
 */
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { DataDirLockedError } from './storage/data-dir-lock.js';
import { createLogger } from './shared/logger.js';
import { startServer } from './server.js';
import { stopOnSignals } from './shutdown.js';
import { startupMessage } from './startup-message.js';
import { apiKeysRepository } from './storage/repositories/api-keys.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\nSee .env.example for every variable, its default and what it does.\n`);
  process.exit(1);
}

const logger = createLogger(config.log.level, config.log.pretty);
if (config.ignoredVariables.length > 0) {
  logger.warn(
    { variables: config.ignoredVariables },
    'ignored: these variables are not settings of this server, so a misspelt name leaves its setting at the default (.env.example lists every setting)',
  );
}

try {
  const server = await startServer(config, logger);
  const userKey = await apiKeysRepository(server.db).hasActiveUserKey();
  logger.info(
    { url: server.url, data: server.location, ...(server.metricsUrl ? { metrics: server.metricsUrl } : {}) },
    startupMessage({ url: server.url, location: server.location, embedded: !config.database.url, adminApiKeySet: Boolean(config.auth.adminApiKey), userKey }),
  );
  stopOnSignals({ timeoutMs: config.shutdownTimeoutMs, logger }, () => server.shutdown());
} catch (error) {
  // Refusals that say what to do (a pepper to create, a longer ADMIN_API_KEY, a folder in use) need no stack.
  if (error instanceof DataDirLockedError || error instanceof ConfigError) logger.fatal(error.message);
  else logger.fatal({ err: error }, 'could not start');
  process.exit(1);
}
