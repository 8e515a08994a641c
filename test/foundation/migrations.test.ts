import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createReadiness } from '../../src/monitoring/readiness.js';
import { createPgliteDatabase } from '../../src/storage/database.js';
import { MIGRATIONS_DIR, migrate, pendingMigrations } from '../../src/storage/migrate.js';
import { silent } from '../helpers/databases.js';

describe('migrations', () => {
  it('applies each file once, and refuses to run when an applied file differs from its record', async () => {
    const db = await createPgliteDatabase(undefined);
    const first = await migrate(db, silent);
    expect(first.applied).toEqual((await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort());
    expect((await migrate(db, silent)).applied).toEqual([]);
    expect((await createReadiness({ db, redis: null, logger: silent }).check()).checks.migrations).toBe('ok');

    // What the database recorded no longer matches the file: as if the file had been edited.
    const [name] = first.applied;
    await db.query("UPDATE schema_migrations SET checksum = 'edited' WHERE name = $1", [name]);
    await expect(migrate(db, silent)).rejects.toThrow(`migration ${name} was edited after it was applied`);
    await expect(pendingMigrations(db)).rejects.toThrow(/edited/);
    const ready = await createReadiness({ db, redis: null, logger: silent }).check();
    expect(ready.status).toBe('down');
    expect(ready.checks.migrations).toBe('down');
    await db.close();
  });
});
