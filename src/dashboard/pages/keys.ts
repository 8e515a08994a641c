/**
 * Keys: list and revoke your keys. An admin key also sees every user's keys,
 * creates users and keys (the new key is shown once, with a copy button), and
 * reads the audit log.
 */
import { allPages, api, ApiError, withQuery, type AuditEntry, type Key, type List, type Scope, type User } from '../api.js';
import { dateTime } from '../dates.js';
import { append, field, h, notice, table } from '../dom.js';
import { isAdmin, type Page, type PageContext } from '../page.js';

const SCOPES: Scope[] = ['read', 'ingest', 'delete', 'admin'];

/** Revoking takes two presses: the first asks for confirmation in place. */
function revokeButton(key: Key, context: PageContext): HTMLElement {
  const button = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${key.name}` }, 'Revoke');
  button.addEventListener('click', async () => {
    if (button.dataset.confirm !== 'yes') {
      button.dataset.confirm = 'yes';
      button.textContent = key.id === context.me.id ? 'Revoke the key this browser uses?' : 'Press again to revoke';
      return;
    }
    button.disabled = true;
    await api(`/api/v1/auth/keys/${key.id}`, { method: 'DELETE' });
    context.navigate('/keys');
  });
  return button;
}

function keysTable(keys: Key[], users: Map<string, string>, context: PageContext): HTMLElement {
  const state = (key: Key) => (key.revoked_at ? `revoked ${dateTime(key.revoked_at, context.zone)}` : key.expires_at && Date.parse(key.expires_at) < Date.now() ? 'expired' : 'active');
  return table(
    isAdmin(context.me) ? "Every user's keys" : 'Your keys',
    ['Name', ...(users.size > 0 ? ['User'] : []), 'Scopes', 'Created', 'Last used', 'State', ''],
    keys.map((key) => [
      key.id === context.me.id ? `${key.name} (this browser)` : key.name,
      ...(users.size > 0 ? [users.get(key.user_id) ?? key.user_id] : []),
      key.scopes.join(', '),
      dateTime(key.created_at, context.zone),
      key.last_used_at ? dateTime(key.last_used_at, context.zone) : '–',
      state(key),
      key.revoked_at ? '' : revokeButton(key, context),
    ]),
    { class: 'keys' },
  );
}

/** The answer of a form: a message, or the new key with a copy button. */
const result = () => h('div', { class: 'result', 'aria-live': 'polite' });

function createUserForm(context: PageContext): HTMLElement {
  const email = h('input', { type: 'email', id: 'new-user-email', name: 'email', required: true, autocomplete: 'off' });
  const output = result();
  return h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const user = await api<User>('/api/v1/admin/users', { method: 'POST', body: { email: email.value } });
          context.navigate(withQuery('/keys', { created_user: user.email }));
        } catch (error) {
          output.replaceChildren(notice((error as Error).message, 'alert'));
        }
      },
    },
    h('h3', {}, 'New user'),
    field('Email', email),
    h('button', { type: 'submit' }, 'Create user'),
    output,
  );
}

function createKeyForm(users: User[], context: PageContext): HTMLElement {
  const user = h('select', { id: 'new-key-user', name: 'user_id' }, users.map((u) => h('option', { value: u.id, selected: u.id === context.me.user_id }, u.email)));
  const name = h('input', { type: 'text', id: 'new-key-name', name: 'name', required: true, autocomplete: 'off', placeholder: 'browser' });
  const scopes = SCOPES.map((scope) => h('input', { type: 'checkbox', id: `new-key-${scope}`, name: 'scopes', value: scope, checked: scope === 'read' }));
  const output = result();
  return h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = scopes.filter((box) => box.checked).map((box) => box.value);
        try {
          const created = await api<Key & { key: string }>('/api/v1/auth/keys', { method: 'POST', body: { user_id: user.value, name: name.value, scopes: chosen } });
          const secret = h('code', { class: 'secret' }, created.key);
          const copy = h('button', { type: 'button' }, 'Copy');
          copy.addEventListener('click', async () => {
            await navigator.clipboard.writeText(created.key);
            copy.textContent = 'Copied';
          });
          output.replaceChildren(
            h('p', { role: 'status' }, `Key "${created.name}" created. It is shown this once: copy it now.`),
            h('p', { class: 'new-key' }, secret, ' ', copy),
          );
        } catch (error) {
          output.replaceChildren(notice(error instanceof ApiError ? error.message : String(error), 'alert'));
        }
      },
    },
    h('h3', {}, 'New key'),
    field('User', user),
    field('Name', name),
    h('fieldset', {}, h('legend', {}, 'Scopes'), scopes.map((box) => h('label', { class: 'check' }, box, ` ${box.value}`))),
    h('button', { type: 'submit' }, 'Create key'),
    output,
  );
}

const keysPage: Page = async (main, context) => {
  const keys = await allPages<Key>('/api/v1/auth/keys', {}, 5000);
  if (!isAdmin(context.me)) {
    append(main, keysTable(keys, new Map(), context), h('p', { class: 'hint' }, 'An admin creates keys for you (or use POST /api/v1/auth/keys with a key of yours).'));
    return;
  }
  const users = await allPages<User>('/api/v1/admin/users', {}, 5000);
  const audit = await api<List<AuditEntry>>(withQuery('/api/v1/admin/audit', { limit: 100 }));
  const emails = new Map(users.map((u) => [u.id, u.email]));
  const createdUser = context.query.get('created_user');
  append(main, 
    createdUser ? notice(`User ${createdUser} created.`) : null,
    keysTable(keys, emails, context),
    h('div', { class: 'forms' }, createKeyForm(users, context), createUserForm(context)),
    table('Users', ['Email', 'Created', 'Active', 'Keys'], users.map((u) => [u.email, dateTime(u.created_at, context.zone), u.active ? 'yes' : 'no', String(keys.filter((k) => k.user_id === u.id && !k.revoked_at).length)])),
    table(
      'Audit log (latest 100)',
      ['When', 'Action', 'User', 'Key', 'Address', 'Reason'],
      audit.items.map((entry) => [dateTime(entry.at, context.zone), entry.action, entry.user_id ? (emails.get(entry.user_id) ?? entry.user_id) : '–', entry.key_id ?? '–', entry.ip ?? '–', entry.reason ?? '']),
    ),
  );
};

export default keysPage;
