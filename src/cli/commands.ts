/**
 * The CLI's commands. Each works locally on the database or through a running
 * server's API (see backend.ts); both paths reuse the same services and routes.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { archiveBytes } from '../ingest/body.js';
import { ingestionView, type IngestionView } from '../http/schemas/ingestion.js';
import { keyView } from '../http/schemas/keys.js';
import { SETTINGS } from '../config/schema.js';
import { ingestionsRepository } from '../storage/repositories/ingestions.js';
import { apiKeysRepository, type Scope } from '../storage/repositories/api-keys.js';
import { UNCLAIMED_USER, usersRepository } from '../storage/repositories/users.js';
import { isUuid } from '../auth/key-material.js';
import { migrate } from '../storage/migrate.js';
import { CliError, refuseRemote, withBackend, type Remote } from './backend.js';

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
  await withBackend(config, async (backend) => {
    const user =
      backend.mode === 'remote'
        ? await backend.call<{ id: string }>('POST', '/api/v1/admin/users', { email })
        : await backend.keys.createUser(email, null, { userAgent: 'health-export-cli' });
    if (!user) throw new CliError(`a user with ${email} already exists`);
    out(`created user ${email} (${user.id})`);
  });
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
  const items = await withBackend(config, async (backend) =>
    backend.mode === 'remote'
      ? (await backend.call<{ items: ReturnType<typeof keyView>[] }>('GET', '/api/v1/auth/keys?limit=1000')).items
      : (await apiKeysRepository(backend.db).list(null, 10_000)).map(keyView),
  );
  if (json) return out(JSON.stringify(items));
  for (const key of items) {
    const state = key.revoked_at ? 'revoked' : key.expires_at && Date.parse(key.expires_at) < Date.now() ? 'expired' : 'active';
    out(`${key.id}  ${state.padEnd(7)}  ${key.scopes.join(',').padEnd(18)}  user ${key.user_id}  ${key.name}`);
  }
}

export async function revokeKeyCommand(config: Config, id: string, out: Output): Promise<void> {
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') await backend.call('DELETE', `/api/v1/auth/keys/${id}`);
    else if (!(await backend.keys.revoke(id, null))) throw new CliError(`no key ${id}`);
  });
  out(`revoked key ${id}`);
}

/** Imports exported files through the same pipeline as HTTP, for one user. */
export async function importCommand(config: Config, files: string[], email: string, out: Output, progress: Output): Promise<IngestionView[]> {
  if (files.length === 0) throw new CliError('import: name at least one file');
  const results: IngestionView[] = [];
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') {
      // A short-lived key for the target user, so the API ingests for that user.
      const key = await backend.call<{ id: string; key: string }>('POST', '/api/v1/auth/keys', { email, name: 'cli import', scopes: ['ingest'] });
      try {
        for (const [index, file] of files.entries()) {
          progress(bar(index, files.length, file));
          results.push(await backend.call<IngestionView>('POST', '/api/v1/ingest', await readFile(file), key.key, { 'user-agent': 'health-export-cli' }));
        }
      } finally {
        await backend.call('DELETE', `/api/v1/auth/keys/${key.id}`);
      }
      return;
    }
    const user = await usersRepository(backend.db).findByEmail(email);
    if (!user) throw new CliError(`no user ${email}; create it with: users create --email ${email}`);
    for (const [index, file] of files.entries()) {
      progress(bar(index, files.length, file));
      const body = await archiveBytes(await readFile(file));
      const { ingestion, duplicateOf } = await backend.ingest.ingest(
        { userId: user.id, keyId: null, source: 'cli', userAgent: 'health-export-cli', headers: {} },
        body,
        { budgetMs: Infinity },
      );
      results.push(ingestionView(ingestion, duplicateOf));
    }
  });
  progress(bar(files.length, files.length, 'done'));
  for (const [index, result] of results.entries()) {
    const c = result.counts;
    const outcome = c
      ? `received ${c.received}, inserted ${c.inserted}, updated ${c.updated}, unchanged ${c.unchanged}, rejected ${c.rejected}`
      : result.status;
    out(`${path.basename(files[index]!)}: ${result.status}${result.duplicate_of ? ' (identical to an earlier upload)' : ''}; ${outcome}${result.error ? `; ${result.error.message}` : ''} [ingestion ${result.id}]`);
  }
  return results;
}

export async function reprocessCommand(
  config: Config,
  filter: { id?: string; failed?: boolean; all?: boolean; type?: string },
  out: Output,
): Promise<void> {
  if (!filter.id && !filter.failed && !filter.all && !filter.type) throw new CliError('reprocess: choose --ingestion ID, --failed, --type TYPE or --all');
  await withBackend(config, async (backend) => {
    if (backend.mode === 'remote') {
      if (!filter.id) refuseRemote(backend, 'reprocess --failed/--type/--all');
      const result = await backend.call<IngestionView>('POST', `/api/v1/ingestions/${filter.id}/reprocess`);
      out(`${result.id}: ${result.status}`);
      return;
    }
    const targets = await ingestionsRepository(backend.db).idsToReprocess({ id: filter.id, failed: filter.failed, type: filter.type });
    if (filter.id && targets.length === 0) throw new CliError(`no ingestion ${filter.id} with an archived body`);
    for (const target of targets) {
      const row = await backend.ingest.reprocess(target.user_id, target.id, { budgetMs: Infinity });
      const c = row?.counts;
      out(`${target.id}: ${row?.status ?? 'busy (another worker has it)'}${c ? `; received ${c.received}, inserted ${c.inserted}, updated ${c.updated}, unchanged ${c.unchanged}, rejected ${c.rejected}` : ''}`);
    }
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
        return (await backend.call<{ deleted: number }>('DELETE', `/api/v1/data/${encodeURIComponent(options.type)}?${query}`, undefined, key.key)).deleted;
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
  let cursor: string | null = null;
  do {
    const page: { items: { id: string; email: string }[]; next: string | null } = await backend.call('GET', `/api/v1/admin/users?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    const found = page.items.find((user) => user.email.toLowerCase() === email.toLowerCase());
    if (found) return found.id;
    cursor = page.next;
  } while (cursor);
  throw new CliError(`no user ${email}`);
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

function bar(done: number, total: number, label: string): string {
  const width = 20;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${label}`;
}
