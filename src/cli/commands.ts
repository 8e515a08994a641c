/**
 * The CLI's commands. Each works locally on the database or through a running
 * server's API (see backend.ts); both paths reuse the same services and routes.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.js';
import { ingestionView, type IngestionView } from '../http/schemas/ingestion.js';
import { keyView } from '../http/schemas/keys.js';
import { userView } from '../http/schemas/users.js';
import { SETTINGS } from '../config/schema.js';
import { deleteStoredPepper, embeddedPepperFile, storedPepper, writePepperFile } from '../auth/pepper.js';
import { NO_LIMIT } from '../ingest/body.js';
import type { Progress } from '../ingest/process.js';
import { ingestionsRepository } from '../storage/repositories/ingestions.js';
import { apiKeysRepository, type Scope } from '../storage/repositories/api-keys.js';
import { UNCLAIMED_USER, usersRepository } from '../storage/repositories/users.js';
import { isUuid } from '../auth/key-material.js';
import { emailAddress } from '../shared/email.js';
import { migrate } from '../storage/migrate.js';
import { rebuildRollups } from '../storage/rollups.js';
import { CliError, refuseRemote, withBackend, type Local, type Remote } from './backend.js';
import { importProgressLine, progressLine } from './progress.js';

export type Output = (line: string) => void;

const SCOPES: Scope[] = ['ingest', 'read', 'admin', 'delete'];

export async function migrateCommand(config: Config, out: Output): Promise<void> {
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') refuseRemote(backend, 'migrate');
    // withBackend already applied pending migrations; running again reports the state.
    const { applied, postgis } = await migrate(backend.db, backend.logger);
    out(`migrations up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}; PostGIS ${postgis ? 'on' : 'off'}`);
  });
}

export async function createUserCommand(config: Config, email: string, out: Output): Promise<void> {
  checkEmail(email, '--email');
  await withBackend(config, async (backend) => {
    const user =
      backend.mode === 'remote'
        ? await backend.call<{ id: string }>('POST', '/api/v1/admin/users', { email })
        : await backend.keys.createUser(email, null, { userAgent: 'health-export-cli' });
    if (!user) throw new CliError(`a user with ${email} already exists`);
    out(`created user ${email} (${user.id})`);
  });
}

type UserItem = ReturnType<typeof userView>;

/** Every user, oldest first, through whichever backend is at hand. */
async function allUsers(backend: Local | Remote): Promise<UserItem[]> {
  if (backend.mode === 'local') return (await usersRepository(backend.db).list(1_000_000)).map(userView);
  const users: UserItem[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: UserItem[]; next: string | null } = await backend.call('GET', `/api/v1/admin/users?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    users.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return users;
}

export async function listUsersCommand(config: Config, json: boolean, out: Output): Promise<void> {
  const users = await withBackend(config, allUsers);
  if (json) return out(JSON.stringify(users));
  for (const user of users) out(`${user.id}  ${user.active ? 'active  ' : 'inactive'}  ${user.created_at.slice(0, 10)}  ${user.email}`);
}

export interface CreateKeyOptions {
  email: string;
  name: string;
  scopes: string[];
  expires?: string;
  uuid?: string;
  json: boolean;
}

export async function createKeyCommand(config: Config, options: CreateKeyOptions, out: Output): Promise<void> {
  const unknown = options.scopes.filter((scope) => !SCOPES.includes(scope as Scope));
  if (unknown.length) throw new CliError(`--scopes: unknown scope ${unknown.join(', ')} (use ${SCOPES.join(', ')})`);
  const expiresAt = options.expires ? new Date(options.expires) : null;
  if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new CliError(`--expires: ${options.expires} is not a date`);
  const created = await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') {
      return backend.call<Record<string, unknown>>('POST', '/api/v1/auth/keys', {
        email: options.email,
        name: options.name,
        scopes: options.scopes,
        ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}),
        ...(options.uuid ? { uuid: options.uuid } : {}),
      });
    }
    const user = await usersRepository(backend.db).findByEmail(options.email);
    if (!user) throw new CliError(`no user ${options.email}; create it with: users create --email ${options.email}`);
    const { key, row } = await backend.keys.create({
      userId: user.id,
      name: options.name,
      scopes: options.scopes as Scope[],
      expiresAt: expiresAt?.toISOString() ?? null,
      ...(options.uuid ? { secret: options.uuid } : {}),
    });
    return { ...keyView(row), key };
  });
  if (options.json) out(JSON.stringify(created));
  else {
    out(`key ${String(created.id)} for ${options.email} (${options.scopes.join(', ')})`);
    out(`  ${String(created.key)}`);
    out('This is the only time the key is shown. In Health Auto Export, add the header  Authorization: Bearer <key>');
  }
}

export async function listKeysCommand(config: Config, json: boolean, out: Output): Promise<void> {
  const [items, users] = await withBackend(config, async (backend) => [
    backend.mode === 'remote'
      ? (await backend.call<{ items: ReturnType<typeof keyView>[] }>('GET', '/api/v1/auth/keys?limit=1000')).items
      : (await apiKeysRepository(backend.db).list(null, 10_000)).map(keyView),
    await allUsers(backend),
  ] as const);
  const emails = new Map(users.map((user) => [user.id, user.email]));
  const keys = items.map((key) => ({ ...key, email: emails.get(key.user_id) ?? null }));
  if (json) return out(JSON.stringify(keys));
  for (const key of keys) {
    const state = key.revoked_at ? 'revoked' : key.expires_at && Date.parse(key.expires_at) < Date.now() ? 'expired' : 'active';
    out(`${key.id}  ${state.padEnd(7)}  ${key.scopes.join(',').padEnd(18)}  ${key.email ?? key.user_id}  ${key.name}`);
  }
}

export async function revokeKeyCommand(config: Config, id: string, out: Output): Promise<void> {
  checkId(id, 'keys revoke <id>');
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') await backend.call('DELETE', `/api/v1/auth/keys/${id}`);
    else if (!(await backend.keys.revoke(id, null))) throw new CliError(`no key ${id}`);
  });
  out(`revoked key ${id}`);
}

/**
 * Moves a pepper an older install kept in the database (settings table) out
 * of it. The database's copy is deleted only once the pepper is somewhere the
 * server reads it: a file written here (--file, or the embedded database's own
 * DATA_DIR/api-key-pepper), or API_KEY_PEPPER already set to it. Otherwise the
 * line for .env is printed and the copy stays until the command runs again with
 * that line in place: losing the pepper would invalidate every key.
 */
export async function movePepperOutCommand(config: Config, file: string | undefined, out: Output): Promise<void> {
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') refuseRemote(backend, 'pepper move-out');
    const pepper = await storedPepper(backend.db);
    if (pepper === null) return out('the API key pepper is not stored in the database: nothing to move');
    if (file === undefined && config.auth.pepper === pepper) {
      await deleteStoredPepper(backend.db);
      return out('API_KEY_PEPPER is set to the stored pepper: deleted the copy in the database');
    }
    const target = file ?? (backend.db.kind === 'pglite' ? embeddedPepperFile(config) : undefined);
    if (target === undefined) {
      out('Add this line to .env (or the environment of every instance), restart, then run this command again to delete the copy in the database:');
      out(`API_KEY_PEPPER=${pepper}`);
      return;
    }
    const absolute = path.resolve(target);
    await writePepperFile(absolute, pepper).catch((error: Error) => {
      throw new CliError(`${error.message}; the copy in the database is kept`);
    });
    await deleteStoredPepper(backend.db);
    out(`wrote the API key pepper to ${absolute} (mode 0600) and deleted the copy in the database`);
    if (file !== undefined) out(`Add this line to .env (or the environment of every instance): API_KEY_PEPPER_FILE=${absolute}`);
  });
}

/** Whose files an import is for: --user, or ADMIN_EMAIL when it was not given. */
export interface ImportOwner {
  email: string;
  given: boolean;
}

/** Imports exported files through the same pipeline as HTTP, for one user; `failed` when any file did not go through. */
export async function importCommand(config: Config, files: string[], owner: ImportOwner, out: Output): Promise<{ results: IngestionView[]; failed: boolean }> {
  if (files.length === 0) throw new CliError('import: name at least one file');
  // Every file is checked before the first is imported: a typo in the last name must not leave half an import.
  const sizes = await Promise.all(files.map(inputSize));
  const progress = progressLine({ uploads: files.length, bytes: sizes.reduce((a, b) => a + b, 0) });
  const results: IngestionView[] = [];
  let failed = false;
  const report = (file: string, line: string) => {
    progress.clear();
    out(`${path.basename(file)}: ${line}`);
  };
  await withBackend(config, async (backend) => {
    const users = await allUsers(backend);
    const user = users.find((u) => u.email.toLowerCase() === owner.email.toLowerCase());
    if (!user) {
      throw new CliError(
        owner.given
          ? `no user ${owner.email}; create it with: users create --email ${owner.email}`
          : `no user ${owner.email} (ADMIN_EMAIL, the owner when --user is not given); name the owner with --user <email>, or create it with: users create --email ${owner.email}`,
      );
    }
    let done = 0;
    for (const [index, file] of files.entries()) {
      const label = path.basename(file);
      progress.update(index, done, label);
      const bytes = await readInput(file);
      let result: IngestionView;
      if (backend.mode === 'remote') {
        try {
          result = await backend.call<IngestionView>('POST', `/api/v1/ingest?user_id=${user.id}`, bytes, {
            headers: { 'user-agent': 'health-export-cli' },
            onSent: (sent) => progress.update(index, done + sent, label),
          });
          result = await untilFinished(backend, result, (reached) =>
            progress.update(index, done + (reached ? share(bytes.length, reached.bytes_done, reached.bytes_total) : bytes.length), processing(label, reached?.samples_done)),
          );
        } catch (error) {
          // The server refused this file (not JSON, too large...) and said why; the other files still go.
          if (!(error instanceof CliError)) throw error;
          failed = true;
          report(file, `not imported: ${error.message}`);
          done += bytes.length;
          continue;
        }
      } else {
        const { ingestion, duplicateOf } = await backend.ingest.ingest(
          { userId: user.id, keyId: null, source: 'cli', userAgent: 'health-export-cli', headers: {} },
          await backend.ingest.receiveBytes(user.id, bytes),
          { budgetMs: Infinity, onProgress: (reached) => progress.update(index, done + share(bytes.length, reached.bytesDone, reached.bytesTotal), processing(label, reached.samplesDone)) },
        );
        result = ingestionView(ingestion, duplicateOf);
      }
      done += bytes.length;
      results.push(result);
      if (result.status === 'failed') failed = true;
      report(file, describeOutcome(result));
    }
    progress.update(files.length, done, 'done');
    progress.clear();
  });
  return { results, failed };
}

/**
 * Imports Apple Health's own export (export.zip or export.xml) for one user, with a
 * progress bar (bytes read of the total, records per second, time left), and ends
 * with the counts per type. Run again after an interruption, it finds the same
 * identities and stores nothing twice.
 */
export async function importAppleHealthCommand(config: Config, file: string, owner: ImportOwner, out: Output): Promise<IngestionView> {
  const size = await inputSize(file);
  const progress = importProgressLine(size);
  const result = await withBackend(config, async (backend) => {
    const user = (await allUsers(backend)).find((u) => u.email.toLowerCase() === owner.email.toLowerCase());
    if (!user) throw new CliError(`no user ${owner.email}; create it with: users create --email ${owner.email}`);
    if (backend.mode === 'remote') {
      // The route imports for the key's own user: a short-lived key of that user's.
      const key = await backend.call<{ id: string; key: string }>('POST', '/api/v1/auth/keys', { email: user.email, name: 'cli import-apple-health', scopes: ['ingest', 'read'] });
      try {
        const accepted = await backend.call<IngestionView>('POST', '/api/v1/import/apple-health', openInput(file), {
          key: key.key,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), 'user-agent': 'health-export-cli' },
          onSent: (sent) => progress.update(sent, 0),
        });
        return await untilFinished(backend, accepted, (reached) => reached && progress.update(reached.bytes_done, reached.samples_done), key.key);
      } finally {
        await backend.call('DELETE', `/api/v1/auth/keys/${key.id}`);
      }
    }
    // Archived as it is read: an export of several GB is never held in memory.
    const body = await backend.ingest.receive(user.id, counted(openInput(file), (read) => progress.update(read, 0)), null, NO_LIMIT);
    const options = { budgetMs: Infinity, onProgress: ({ bytesDone, samplesDone }: Progress) => progress.update(bytesDone, samplesDone) };
    const { ingestion, duplicateOf } = await backend.ingest.ingest(
      { userId: user.id, keyId: null, source: 'cli', userAgent: 'health-export-cli', headers: {}, format: 'apple_health' },
      body,
      options,
    );
    if (duplicateOf && (ingestion.status === 'queued' || ingestion.status === 'processing')) {
      // An earlier run of this import stopped before the end (Ctrl-C, a crash): finish it.
      // What it stored is found unchanged; the rest is written.
      const resumed = await backend.ingest.reprocess(ingestion.user_id, ingestion.id, options);
      if (!resumed) {
        throw new CliError(`this file's import (ingestion ${ingestion.id}) is being processed by another process; run this again once it stops reporting (INGEST_LEASE_SECONDS)`);
      }
      return ingestionView(resumed);
    }
    return ingestionView(ingestion, duplicateOf);
  });
  progress.clear();
  out(`${path.basename(file)}: ${describeOutcome(result)}`);
  for (const [type, counts] of Object.entries(result.by_type ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    out(`  ${type.padEnd(40)} received ${counts.received}, inserted ${counts.inserted}, updated ${counts.updated}, unchanged ${counts.unchanged}, rejected ${counts.rejected}`);
  }
  return result;
}

/** Polls a 202's status until a worker has finished it: the CLI prints outcomes, not "processing". */
async function untilFinished(backend: Remote, accepted: IngestionView, waiting: (progress: IngestionView['progress']) => void, key?: string): Promise<IngestionView> {
  let current = accepted;
  while (current.status === 'queued' || current.status === 'processing') {
    waiting(current.progress);
    await sleep(1000);
    current = await backend.call<IngestionView>('GET', current.status_url, undefined, key === undefined ? {} : { key });
  }
  return current;
}

/**
 * The part of a file's bytes that processing has reached, so the line moves while one
 * large file is processed (the file's size and the body's may differ: a file may be gzip).
 */
function share(fileBytes: number, bytesDone: number, bytesTotal: number): number {
  return bytesTotal > 0 ? Math.round((fileBytes * bytesDone) / bytesTotal) : 0;
}

function processing(label: string, samplesDone: number | undefined): string {
  return samplesDone ? `${label} (processing: ${samplesDone.toLocaleString('en')} samples)` : `${label} (processing)`;
}

/** One line per upload: its counts, that it repeats an earlier one, or why it failed. */
export function describeOutcome(result: IngestionView): string {
  const where = `[ingestion ${result.id}]`;
  if (result.duplicate) return `identical to upload ${result.duplicate_of} (nothing written)`;
  if (result.status === 'failed') return `failed: ${result.error?.message ?? 'no reason recorded'} ${where}`;
  const c = result.counts;
  if (!c) return `${result.status} ${where}`;
  return `${result.status}; received ${c.received}, inserted ${c.inserted}, updated ${c.updated}, unchanged ${c.unchanged}, rejected ${c.rejected} ${where}`;
}

export async function reprocessCommand(
  config: Config,
  filter: { id?: string; failed?: boolean; all?: boolean; type?: string },
  out: Output,
): Promise<void> {
  if (!filter.id && !filter.failed && !filter.all && !filter.type) throw new CliError('reprocess: choose --ingestion ID, --failed, --type TYPE or --all');
  if (filter.id) checkId(filter.id, '--ingestion');
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') {
      if (!filter.id) refuseRemote(backend, 'reprocess --failed/--type/--all');
      const accepted = await backend.call<IngestionView>('POST', `/api/v1/ingestions/${filter.id}/reprocess`);
      out(`${filter.id}: ${describeOutcome(await untilFinished(backend, accepted, () => {}))}`);
      return;
    }
    const targets = await ingestionsRepository(backend.db).idsToReprocess({ id: filter.id, failed: filter.failed, type: filter.type });
    if (filter.id && targets.length === 0) throw new CliError(`no ingestion ${filter.id} with an archived body`);
    const progress = progressLine({ uploads: targets.length, bytes: targets.reduce((sum, t) => sum + Number(t.size_bytes), 0) });
    let done = 0;
    for (const [index, target] of targets.entries()) {
      progress.update(index, done, target.id);
      const row = await backend.ingest.reprocess(target.user_id, target.id, { budgetMs: Infinity });
      done += Number(target.size_bytes);
      progress.clear();
      out(`${target.id}: ${row ? describeOutcome(ingestionView(row)) : 'busy (another worker has it)'}`);
    }
    progress.clear();
    out(`reprocessed ${targets.length} ingestion(s)`);
  });
}

/** An instant given on the command line, as ISO 8601 (any form Date understands; an offset is best). */
function instant(value: string, flag: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new CliError(`${flag}: ${JSON.stringify(value)} is not a date and time (use ISO 8601, e.g. 2024-03-13T00:00:00Z)`);
  return new Date(time).toISOString();
}

/** Deletes one user's samples of a type whose start is in [start, end), audited and honoured by later reprocesses. */
export async function deleteDataCommand(config: Config, options: { email: string; type: string; start: string; end: string }, out: Output): Promise<void> {
  const start = instant(options.start, '--start');
  const end = instant(options.end, '--end');
  if (start >= end) throw new CliError('--end: must be after --start');
  const deleted = await withBackend(config, async (backend) => {
    const query = `start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`;
    if (backend.mode === 'remote') {
      // A short-lived delete key for the target user, so the API erases that user's data.
      const key = await backend.call<{ id: string; key: string }>('POST', '/api/v1/auth/keys', { email: options.email, name: 'cli delete', scopes: ['delete'] });
      try {
        return (await backend.call<{ deleted: number }>('DELETE', `/api/v1/data/${encodeURIComponent(options.type)}?${query}`, undefined, { key: key.key })).deleted;
      } finally {
        await backend.call('DELETE', `/api/v1/auth/keys/${key.id}`);
      }
    }
    const user = await usersRepository(backend.db).findByEmail(options.email);
    if (!user) throw new CliError(`no user ${options.email}`);
    return backend.erasure.samples(user.id, { type: options.type, start, end }, { keyId: null });
  });
  out(`deleted ${deleted} ${options.type} sample(s) of ${options.email} starting in [${start}, ${end})`);
}

/** Erases a user (by email or id) and everything of theirs; the audit log keeps the id and the counts. */
export async function eraseUserCommand(config: Config, who: string, out: Output): Promise<void> {
  const byId = isUuid(who);
  const erased = await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') {
      const id = byId ? who : await findUserRemotely(backend, who);
      return backend.call<{ id: string; samples: number; ingestions: number; rejections: number; keys: number }>('DELETE', `/api/v1/admin/users/${id}`);
    }
    const users = usersRepository(backend.db);
    const user = byId ? await users.findById(who) : await users.findByEmail(who);
    if (!user) throw new CliError(`no user ${who}`);
    if (user.id === UNCLAIMED_USER.id) throw new CliError('the built-in unclaimed user cannot be erased (it owns MQTT messages that named no usable key)');
    const counts = await backend.erasure.user(user.id, { keyId: null });
    if (!counts) throw new CliError(`no user ${who}`);
    return { id: user.id, ...counts };
  });
  out(`erased user ${erased.id}: ${erased.samples} sample(s), ${erased.ingestions} archived upload(s), ${erased.rejections} rejection(s), ${erased.keys} key(s)`);
}

async function findUserRemotely(backend: Remote, email: string): Promise<string> {
  const found = (await allUsers(backend)).find((user) => user.email.toLowerCase() === email.toLowerCase());
  if (!found) throw new CliError(`no user ${email}`);
  return found.id;
}

/** Deletes one archived upload's body; the samples it wrote stay. */
export async function deleteBodyCommand(config: Config, id: string, out: Output): Promise<void> {
  if (!isUuid(id)) throw new CliError(`ingestions delete-body: ${JSON.stringify(id)} is not an ingestion id`);
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') return backend.call('DELETE', `/api/v1/ingestions/${id}/body`);
    const outcome = await backend.erasure.body(null, id, { keyId: null });
    if (outcome === null) throw new CliError(`no ingestion ${id}`);
    if (outcome === 'busy') throw new CliError(`ingestion ${id} is being processed right now; delete its body when it finishes`);
    return outcome;
  });
  out(`deleted the archived body of ingestion ${id}; its samples stay`);
}

/**
 * Rebuilds the summary rollups from the samples, one user (by email) or every user, one
 * transaction each: after restoring samples by hand, or to check nothing drifted.
 */
export async function rebuildRollupsCommand(config: Config, email: string | undefined, out: Output): Promise<void> {
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') refuseRemote(backend, 'rollups rebuild');
    const users = usersRepository(backend.db);
    const targets = email === undefined ? await users.list(1_000_000) : [await users.findByEmail(email)];
    for (const user of targets) {
      if (!user) throw new CliError(`no user ${email}`);
      const started = performance.now();
      await backend.db.transaction((tx) => rebuildRollups(tx, user.id));
      out(`rebuilt the summary rollups of ${user.email} in ${Math.round(performance.now() - started)} ms`);
    }
    out(`rebuilt the summary rollups of ${targets.length} user(s)`);
  });
}

/** Refuses what the API would refuse, before it costs a database round trip or a stack trace. */
function checkEmail(email: string, flag: string): void {
  const result = emailAddress.safeParse(email);
  if (!result.success) throw new CliError(`${flag} ${email}: ${result.error.issues.map((i) => i.message).join('; ')}`);
}

function checkId(id: string, what: string): void {
  if (!isUuid(id)) throw new CliError(`${what}: ${id} is not an id (ids look like 0b6c7a52-3f0e-4c1e-9a55-3d2f1e0c9b11; see the list commands)`);
}

/** A file's size, or one line saying why it cannot be imported. */
async function inputSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new CliError(`import: ${file} is a folder; name the exported .json files`);
    return info.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw fileError(file, error);
  }
}

/** The file as a stream; a read error says which file and why, like readInput's. */
function openInput(file: string): AsyncIterable<Buffer> {
  return (async function* () {
    try {
      yield* createReadStream(file) as AsyncIterable<Buffer>;
    } catch (error) {
      throw fileError(file, error);
    }
  })();
}

/** Passes the chunks on, telling `onRead` how many bytes went by so far. */
async function* counted(chunks: AsyncIterable<Buffer>, onRead: (bytes: number) => void): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of chunks) {
    read += chunk.length;
    onRead(read);
    yield chunk;
  }
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw fileError(file, error);
  }
}

function fileError(file: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  return new CliError(`import: cannot read ${file}: ${why}`);
}

/** `.env.example`, generated from the one list of settings so it cannot drift. */
export function envExample(): string {
  const lines = ['# Health Export API configuration. Every variable is optional; an empty value counts as unset.', '# Generated by `npm run cli -- config-reference`; edit src/config/schema.ts instead.', ''];
  for (const [name, setting] of Object.entries(SETTINGS)) {
    lines.push(`# ${setting.doc}`);
    lines.push(`${'default' in setting ? '' : '# '}${name}=${'default' in setting ? setting.default : ''}`, '');
  }
  return lines.join('\n');
}

/** The configuration table of docs/operations.md, generated from the same list. */
export function configReferenceMarkdown(): string {
  const rows = Object.entries(SETTINGS).map(
    ([name, setting]) => `| \`${name}\` | ${'default' in setting && setting.default !== '' ? `\`${setting.default}\`` : '(unset)'} | ${setting.doc.replaceAll('|', '\\|')} |`,
  );
  return ['| variable | default | what it does |', '|---|---|---|', ...rows].join('\n');
}
