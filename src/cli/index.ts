/**
 * `npm run cli -- <command>`: operator tooling. See --help.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { CliError } from './backend.js';
import {
  createKeyCommand,
  configReferenceMarkdown,
  createUserCommand,
  deleteBodyCommand,
  deleteDataCommand,
  envExample,
  eraseUserCommand,
  importAppleHealthCommand,
  importCommand,
  listKeysCommand,
  listUsersCommand,
  migrateCommand,
  movePepperOutCommand,
  rebuildRollupsCommand,
  reprocessCommand,
  revokeKeyCommand,
} from './commands.js';

const HELP = `Usage: npm run cli -- <command> [options]

Commands:
  migrate                               apply pending database migrations
  users create --email <email>          create a user
  users list [--json]                   list users
  keys create --user <email> --name <name> --scopes ingest,read
              [--expires <date>] [--uuid <uuid>] [--json]
                                        create an API key (printed once); scopes: ingest, read,
                                        delete (erasing data, only when named), admin (all)
  keys list [--json]                    list keys with their users' emails (never the secrets)
  keys revoke <id>                      revoke a key
  pepper move-out [--file <path>]       move the API key pepper out of the database: into --file (or, embedded,
                                        DATA_DIR/api-key-pepper), or print the API_KEY_PEPPER line for .env
  import [--user <email>] <file...>     import Health Auto Export or standard-format files
                                        for that user (default: ADMIN_EMAIL); exit status 2
                                        if a file failed
  import-apple-health [--user <email>] <export.zip|export.xml>
                                        backfill from the Health app's "Export All Health Data"
                                        (as import); a progress bar, then the counts per type
  reprocess (--ingestion <id> | --failed | --type <by_type name> | --all)
                                        run archived uploads again through today's parser and thresholds
                                        (--type sleep_analysis: those that carried sleep data;
                                        samples erased after an upload was received are skipped)
  data delete --user <email> --type <type> --start <time> --end <time>
                                        erase a user's samples of one by_type name (step_count, heart_rate,
                                        sleep_analysis, workouts, ecg, ...) starting in [start, end)
  users erase --user <email|id>         erase a user: samples, archived uploads, rejections, keys
  rollups rebuild [--user <email>]      rebuild the daily summary's rollups from the samples (every user by
                                        default; a server builds those an upgrade left pending by itself)
  ingestions delete-body <id>           delete one archived upload's body; its samples stay
  config-reference [--markdown]         print .env.example (every variable, its default and meaning),
                                        or the table of docs/operations.md
  openapi                               write docs/openapi.json (what /openapi.json serves) and the
                                        Postman collection generated from it

The CLI reads the same configuration as the server (the environment over .env,
see ENV_FILE). With the embedded database in use by a running server, commands go
through that server's API using ADMIN_API_KEY. On a terminal, import and
reprocess show their progress on one line.`;

const options = {
  help: { type: 'boolean', short: 'h' },
  email: { type: 'string' },
  user: { type: 'string' },
  name: { type: 'string' },
  scopes: { type: 'string' },
  expires: { type: 'string' },
  uuid: { type: 'string' },
  json: { type: 'boolean' },
  ingestion: { type: 'string' },
  failed: { type: 'boolean' },
  all: { type: 'boolean' },
  markdown: { type: 'boolean' },
  type: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  file: { type: 'string' },
} as const;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const [command, sub, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return command || values.help ? 0 : 1;
  }
  if (command === 'config-reference') {
    process.stdout.write(values.markdown ? `${configReferenceMarkdown()}\n` : envExample());
    return 0;
  }
  if (command === 'openapi') {
    // Loaded only here: a development command whose converter is a devDependency, absent after npm install --omit=dev.
    const { writeApiDocuments } = await import('./openapi.js');
    for (const file of await writeApiDocuments()) process.stdout.write(`wrote ${file}\n`);
    return 0;
  }
  const config = loadConfig();
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const need = (value: string | undefined, flag: string) => {
    if (!value) throw new CliError(`${command}${sub ? ` ${sub}` : ''}: ${flag} is required (see --help)`);
    return value;
  };

  switch (`${command}${['users', 'keys', 'data', 'ingestions', 'pepper', 'rollups'].includes(command) ? ` ${sub ?? ''}` : ''}`) {
    case 'migrate':
      await migrateCommand(config, out);
      return 0;
    case 'users create':
      await createUserCommand(config, need(values.email, '--email'), out);
      return 0;
    case 'users list':
      await listUsersCommand(config, values.json ?? false, out);
      return 0;
    case 'keys create':
      await createKeyCommand(
        config,
        {
          email: need(values.user, '--user'),
          name: need(values.name, '--name'),
          scopes: need(values.scopes, '--scopes').split(',').map((s) => s.trim()).filter(Boolean),
          expires: values.expires,
          uuid: values.uuid,
          json: values.json ?? false,
        },
        out,
      );
      return 0;
    case 'pepper move-out':
      await movePepperOutCommand(config, values.file, out);
      return 0;
    case 'keys list':
      await listKeysCommand(config, values.json ?? false, out);
      return 0;
    case 'keys revoke':
      await revokeKeyCommand(config, need(rest[0], '<id>'), out);
      return 0;
    case 'import-apple-health': {
      const owner = { email: values.user ?? config.auth.adminEmail, given: values.user !== undefined };
      const result = await importAppleHealthCommand(config, need(sub, '<export.zip | export.xml>'), owner, out);
      return result.status === 'failed' ? 2 : 0;
    }
    case 'import': {
      const owner = { email: values.user ?? config.auth.adminEmail, given: values.user !== undefined };
      const results = await importCommand(config, positionals.slice(1), owner, out);
      return results.failed ? 2 : 0;
    }
    case 'data delete':
      await deleteDataCommand(
        config,
        { email: need(values.user, '--user'), type: need(values.type, '--type'), start: need(values.start, '--start'), end: need(values.end, '--end') },
        out,
      );
      return 0;
    case 'users erase':
      await eraseUserCommand(config, need(values.user, '--user'), out);
      return 0;
    case 'ingestions delete-body':
      await deleteBodyCommand(config, need(rest[0], '<id>'), out);
      return 0;
    case 'rollups rebuild':
      await rebuildRollupsCommand(config, values.user, out);
      return 0;
    case 'reprocess':
      await reprocessCommand(config, { id: values.ingestion, failed: values.failed, all: values.all, type: values.type }, out);
      return 0;
    default:
      throw new CliError(`unknown command "${positionals.join(' ')}" (see --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A user's mistake gets one line saying what is wrong; only a fault of the CLI itself gets a stack trace.
    if (error instanceof CliError || error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    }
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
