import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DateTime } from 'luxon';
import pg from 'pg';
import { sql } from 'kysely';
import { openStore } from '../src/db/database.js';
import { publishVersion } from '../src/db/sequence-repository.js';
import { REPORT_NAMES, buildReport } from '../src/queries/reports/report.js';
import { loadSequences } from '../src/sequences/load.js';
import { catchUpReportRollups } from '../src/db/report-rollup-repository.js';

/**
 * The reports over 100,000 contacts and 1,000,000 events (generated with generate_series in a
 * scratch database): 100,000 opt-ins from four sources, 300,000 opens and 100,000 clicks tied to
 * touches, 480,000 page visits, 20,000 lead signals; 100,000 enrollments in two sequences with
 * 400,000 touches; 72,000 stage changes (engaged, MQL, lead, customer); 20,000 call tasks.
 * Each report runs 3 times after a warm-up; the slowest run is what counts against the 1 s target.
 */

const CONTACTS = Number(process.env.BENCH_REPORT_CONTACTS ?? 100_000);

export async function benchReports(adminUrl: string): Promise<{ name: string; ms: number[] }[]> {
  const dbName = `nurture_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    const store = await openStore({ databaseUrl: url.toString(), dataDir: path.join(import.meta.dirname, '..', '.nurture-bench'), poolSize: 2 });
    try {
      const db = store.db;
      const loaded = await loadSequences(path.resolve(import.meta.dirname, '../examples/sequences'));
      const program = loaded.sequences[0]!.program;
      for (const id of [program.sequenceId, `${program.sequenceId}-b`]) {
        await publishVersion(db, { sequenceId: id, version: program.version, definition: program.definition, sourceFile: 'bench.yaml', templates: null });
      }
      const started = performance.now();
      await generate(db, program.sequenceId, program.version, CONTACTS);
      const counts = await sql<{ events: number; contacts: number; touches: number }>`
        select (select count(*) from events)::int as events, (select count(*) from contacts)::int as contacts, (select count(*) from touches)::int as touches`.execute(db);
      console.log(`reports bench data: ${JSON.stringify(counts.rows[0])} generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      // What the engine's catch-up loop does within seconds of such writes; timed apart from the reports.
      const caught = performance.now();
      const names = await catchUpReportRollups(db);
      console.log(`report rollups caught up: ${names} names in ${((performance.now() - caught) / 1000).toFixed(1)} s`);
      const now = DateTime.utc().toJSDate();
      const results: { name: string; ms: number[] }[] = [];
      for (const name of REPORT_NAMES) {
        await buildReport(db, name, { now });
        const ms: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          await buildReport(db, name, { now });
          ms.push(performance.now() - t);
        }
        results.push({ name, ms });
      }
      const since = new Date(Date.parse('2025-09-01T00:00:00Z'));
      for (const name of ['funnel', 'time-to-lead'] as const) {
        const ms: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          await buildReport(db, name, { now, since, source: 'ads' });
          ms.push(performance.now() - t);
        }
        results.push({ name: `${name} --since 2025-09-01 --source ads`, ms });
      }
      return results;
    } finally {
      await store.close();
    }
  } finally {
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

async function generate(db: Parameters<typeof publishVersion>[0], seq: string, version: string, n: number): Promise<void> {
  const c = (i: ReturnType<typeof sql>) => sql`md5('c' || ${i})::uuid`;
  const optIn = (i: ReturnType<typeof sql>) => sql`(timestamptz '2025-06-01T00:00:00Z' + (${i}) * interval '2 minutes')`;
  const i = sql`i`;
  await sql`insert into contacts (id, email, attributes, tags, status, opted_in_at)
    select ${c(i)}, 'bench-' || i || '@example.com', '{}', '[]',
      case when i % 50 = 9 then 'customer' when i % 10 = 9 then 'lead' when i % 10 = 2 then 'mql' when i % 10 in (1, 3) then 'engaged' else 'subscriber' end,
      ${optIn(i)}
    from generate_series(1, ${n}) i`.execute(db);
  await sql`insert into events (id, contact_id, type, occurred_at, data)
    select 'o-' || i, ${c(i)}, 'opt_in', ${optIn(i)}, jsonb_build_object('source', (array['website', 'ads', 'partner', 'webinar'])[1 + i % 4])
    from generate_series(1, ${n}) i`.execute(db);
  await sql`insert into enrollments (id, contact_id, sequence_id, sequence_version, status, exit_reason, state, step_id, enrolled_at, ended_at)
    select md5('e' || i)::uuid, ${c(i)}, case when i % 2 = 0 then ${seq} else ${`${seq}-b`} end, ${version},
      case when i % 10 < 6 then 'active' when i % 10 = 6 then 'completed' when i % 10 = 9 then 'exited' else 'exited' end,
      case when i % 10 = 9 then 'promoted' when i % 10 = 7 then 'event:unsubscribed' when i % 10 = 8 then 'exit:replied' when i % 10 = 6 then 'completed' end,
      '{}', (array['welcome-wait', 'buyers-guide-wait', 'hello-postcard-wait', 'call'])[1 + i % 4], ${optIn(i)},
      case when i % 10 >= 6 then ${optIn(i)} + interval '10 days' end
    from generate_series(1, ${n}) i`.execute(db);
  await sql`insert into touches (id, key, enrollment_id, contact_id, sequence_id, step_id, kind, template, status, due_at, sent_at, created_at)
    select md5('t' || i || '-' || s.n)::uuid, md5('e' || i) || '/' || s.step, md5('e' || i)::uuid, ${c(i)},
      case when i % 2 = 0 then ${seq} else ${`${seq}-b`} end, s.step, s.kind, s.step,
      case when s.kind = 'email' then 'sent' else 'done' end,
      ${optIn(i)} + s.n * interval '2 days', case when s.kind = 'email' then ${optIn(i)} + s.n * interval '2 days' end, ${optIn(i)} + s.n * interval '2 days'
    from generate_series(1, ${n}) i
    cross join (values (0, 'welcome', 'email'), (1, 'buyers-guide', 'email'), (2, 'hello-postcard', 'postcard'), (3, 'call', 'call')) s(n, step, kind)`.execute(db);
  // Opens: 3 per contact over its two emails (some opened twice); clicks: one per contact.
  await sql`insert into events (id, contact_id, type, occurred_at, data, touch_id)
    select 'op-' || g, ${c(sql`(1 + g % ${n})`)}, 'email_opened', ${optIn(sql`(1 + g % ${n})`)} + interval '3 hours', '{}',
      md5('t' || (1 + g % ${n}) || '-' || ((g / ${n}) % 2))::uuid
    from generate_series(0, ${3 * n - 1}) g`.execute(db);
  await sql`insert into events (id, contact_id, type, occurred_at, data, touch_id)
    select 'cl-' || i, ${c(i)}, 'email_clicked', ${optIn(i)} + interval '2 days 4 hours', '{}', md5('t' || i || '-1')::uuid
    from generate_series(1, ${n}) i`.execute(db);
  await sql`insert into events (id, contact_id, type, occurred_at, data)
    select 'pv-' || g, ${c(sql`(1 + g % ${n})`)}, 'page_visited', ${optIn(sql`(1 + g % ${n})`)} + (g % 97) * interval '1 hour', jsonb_build_object('page', '/pricing')
    from generate_series(0, ${(48 * n) / 10 - 1}) g`.execute(db);
  await sql`insert into events (id, contact_id, type, occurred_at, data)
    select t.type || '-' || i, ${c(i)}, t.type, ${optIn(i)} + (i % 2000) * interval '1 hour', '{}'
    from generate_series(1, ${n}) i cross join (values ('appointment_requested'), ('info_requested')) t(type) where i % 10 = 9`.execute(db);
  const stage = (to: string, from: string, where: ReturnType<typeof sql>, after: ReturnType<typeof sql>) =>
    sql`insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, event_id, at)
      select ${c(i)}, 'stage', ${from}, ${to}, 'bench', null, ${optIn(i)} + ${after} from generate_series(1, ${n}) i where ${where}`.execute(db);
  await stage('engaged', 'subscriber', sql`i % 10 in (1, 2, 3, 9)`, sql`interval '1 day'`);
  await stage('mql', 'engaged', sql`i % 10 in (2, 9)`, sql`interval '2 days'`);
  await stage('lead', 'mql', sql`i % 10 = 9`, sql`(i % 2000) * interval '1 hour' + interval '1 minute'`);
  await stage('customer', 'lead', sql`i % 50 = 9`, sql`interval '120 days'`);
  await sql`insert into tasks (touch_id, contact_id, enrollment_id, kind, priority, status, title, history, due_at, created_at, completed_at, outcome)
    select md5('t' || i || '-3')::uuid, ${c(i)}, md5('e' || i)::uuid, 'call', 'normal', 'done', 'Intro call', '[]',
      ${optIn(i)} + interval '7 days', ${optIn(i)} + interval '6 days', ${optIn(i)} + interval '7 days' + (i % 48) * interval '1 hour',
      (array['connected', 'voicemail', 'appointment_booked', 'no answer'])[1 + (i / 5) % 4]
    from generate_series(1, ${n}) i where i % 5 = 0`.execute(db);
  await sql`analyze`.execute(db);
}
