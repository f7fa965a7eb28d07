import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import pg from 'pg';
import { withApp } from '../src/app/composition-root.js';
import { rebuildScores } from '../src/app/rebuild-scores.js';
import type { RebuildReport } from '../src/app/rebuild-scores.js';
import { loadConfig } from '../src/config.js';
import { loadScoringFile } from '../src/scoring/load.js';
import type { ScoringRules } from '../src/scoring/rules.js';

const ROOT = path.resolve(import.meta.dirname, '..');

export async function exampleScoring(): Promise<ScoringRules> {
  const r = await loadScoringFile(path.join(ROOT, 'examples/scoring.yaml'));
  if (r.status !== 'ok') throw new Error(`examples/scoring.yaml: ${JSON.stringify(r)}`);
  return r.rules;
}

/**
 * `nurture scores rebuild` over `contacts` contacts with `perContact` events each (opens, clicks,
 * page visits half of them on /pricing, spread over 90 days), seeded in SQL into a scratch
 * database, scored with examples/scoring.yaml. Timed from the first page to the last commit.
 */
export async function benchRebuild(adminUrl: string, contacts: number, perContact: number): Promise<{ seconds: number; report: RebuildReport }> {
  const dbName = `nurture_bench_${randomBytes(4).toString('hex')}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'nurture-bench-scores-'));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    const config = loadConfig({ DATABASE_URL: url.toString(), NURTURE_DATA_DIR: dir, NURTURE_LOG_LEVEL: 'warn' });
    const rules = await exampleScoring();
    return await withApp(
      config,
      async (app) => {
        const db = app.deps.db;
        await sql`
          insert into contacts (email, attributes, address, tags)
          select 'p' || i || '@example.com',
                 jsonb_build_object('company_size', (i * 37) % 400, 'role', (array['owner','staff','vp','intern'])[1 + i % 4]),
                 jsonb_build_object('line1', '1 Main St', 'city', 'Austin', 'postalCode', '73301', 'country', (array['US','DE','CA'])[1 + i % 3]),
                 '[]'::jsonb
          from generate_series(1, ${contacts}) i`.execute(db);
        await sql`
          insert into events (id, contact_id, type, occurred_at, data)
          select c.id || '-' || k, c.id,
                 (array['email_opened','email_clicked','page_visited','page_visited'])[1 + (k + c.n) % 4],
                 now() - make_interval(mins => ((k * 7919 + c.n * 104729) % (90 * 24 * 60))::int),
                 case when (k + c.n) % 2 = 0 then '{"path":"/pricing"}'::jsonb else '{"path":"/blog"}'::jsonb end
          from (select id, row_number() over (order by id) as n from contacts) c, generate_series(1, ${perContact}) k`.execute(db);
        await sql`analyze`.execute(db);
        const start = performance.now();
        const report = await rebuildScores(app, rules, DateTime.utc());
        const seconds = (performance.now() - start) / 1000;
        if (report.contacts !== contacts) throw new Error(`expected ${contacts} contacts rescored, got ${report.contacts}`);
        return { seconds, report };
      },
      { scoring: rules },
    );
  } finally {
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
}
