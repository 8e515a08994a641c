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
import { usersRepository } from '../storage/repositories/users.js';
import { migrate } from '../storage/migrate.js';
import { CliError, refuseRemote, withBackend } from './backend.js';

export type Output = (line: string) => void;

const SCOPES: Scope[] = ['ingest', 'read', 'admin'];

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
        : await usersRepository(backend.db).create(email);
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
