import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { POSTGRES_TEST_URL } from './services.js';

/**
 * A whole database of its own, for tests that run the CLI as a user would (with a plain
 * DATABASE_URL and the default `public` schema). Dropped, connections and all, at the end.
 */
export async function createTestDatabase(): Promise<{ url: string; drop(opts?: { checkLeaks?: boolean }): Promise<void> }> {
  const name = `nurture_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_TEST_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop(opts: { checkLeaks?: boolean } = {}) {
      const c = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await c.connect();
      try {
        // Everything that used the database is closed by now; anything still connected leaked. A
        // backend whose client just hung up can stay listed for a moment (its process is still
        // exiting, longer on a loaded machine): a leak is a connection still there 5 s later.
        const open = async () => (await c.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name])).rows[0].n as number;
        let n = await open();
        for (let waited = 0; n > 0 && waited < 5_000; waited += 100) {
          await new Promise((r) => setTimeout(r, 100));
          n = await open();
        }
        await c.query(`drop database if exists ${name} with (force)`);
        if (opts.checkLeaks && n > 0) throw new Error(`${n} connection(s) to ${name} were left open`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A plain session of its own on `url` while `f` runs (a writer or a lock holder beside a store's pool), closed after. */
export async function withSession<T>(url: string, f: (session: pg.Client) => Promise<T>): Promise<T> {
  const session = new pg.Client({ connectionString: url });
  await session.connect();
  try {
    return await f(session);
  } finally {
    await session.end();
  }
}
