/**
 * The line `npm start` prints once it listens: where, where the data lives, and
 * while no key for a phone exists, the commands that create the first one (once
 * one exists, the hint would only be noise at every start). With the embedded database
 * a running server holds the folder, so the CLI can reach it only through the
 * API with ADMIN_API_KEY; without that key the commands work only while the
 * server is stopped, and the line says so rather than print commands that fail.
 */
export interface StartupFacts {
  url: string;
  /** Human-readable: where the data lives. */
  location: string;
  embedded: boolean;
  adminApiKeySet: boolean;
  /** Whether a key without the admin scope exists (none until the first phone's key is created). */
  userKey: boolean;
}

const CREATE_USER = 'npm run cli -- users create --email you@example.com';
const CREATE_KEY = 'npm run cli -- keys create --user you@example.com --name iphone --scopes ingest,read';

export function startupMessage(facts: StartupFacts): string {
  const where = `listening on ${facts.url}; data in ${facts.location}`;
  if (facts.userKey) return where;
  // Until then the user to hold the key does not exist either (the bootstrap admin's is not it).
  const commands = `${CREATE_USER} && ${CREATE_KEY}`;
  const intro = 'No API key for a phone exists yet; to create the first one';
  if (facts.embedded && !facts.adminApiKeySet) {
    return `${where}. ${intro}, stop the server (Ctrl-C) and run: ${commands}; then npm start again (with ADMIN_API_KEY set, the CLI works while the server runs)`;
  }
  return `${where}. ${intro}, run in another terminal: ${commands}`;
}
