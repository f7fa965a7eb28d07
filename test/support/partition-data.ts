import { Kysely, PostgresDialect } from 'kysely';
import type { CompiledQuery } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/db/schema.js';

/**
 * A store at scale for the plans of the hot queries: `events` events received over `months`
 * months up to `until` (each month its own partition), spread over `contacts` contacts, with
 * enrollments and touches beside them. Written by generate_series in one session with
 * session_replication_role = replica (no per-row triggers, no foreign-key checks: the rows are
 * made consistent by construction, and event_ids and touch_keys are filled in one statement each), then VACUUM
 * ANALYZE, so the planner sees the sizes and the visibility map a long-running store has.
 */
export interface ScaleShape {
  events: number;
  contacts: number;
  months: number;
  until: Date;
}

export async function generateScaleData(url: string, s: ScaleShape): Promise<{ seconds: number }> {
  const started = Date.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const from = new Date(Date.UTC(s.until.getUTCFullYear(), s.until.getUTCMonth() - s.months + 1, 1));
    await c.query(`select events_add_partition(($1::date + make_interval(months => g))::date) from generate_series(0, $2) g`, [from.toISOString().slice(0, 10), s.months - 1]);
    await c.query(`select touches_add_partition(($1::date + make_interval(months => g))::date) from generate_series(0, $2) g`, [from.toISOString().slice(0, 10), s.months - 1]);
    await c.query('set session_replication_role = replica');
    await c.query(`insert into contacts (id, email, status, opted_in_at)
      select gen_random_uuid(), 'c' || g || '@scale.test', 'subscriber', now() from generate_series(1, $1) g`, [s.contacts]);
    await c.query('create temp table scale_contacts as select row_number() over (order by id) as n, id from contacts');
    await c.query('create index on scale_contacts (n)');
    // Enrollments: one per contact, 1% due within the hour, the rest parked for up to 6 months, 5% ended.
    await c.query(`insert into enrollments (id, contact_id, sequence_id, sequence_version, status, state, step_id, next_wake_at, enrolled_at)
      select gen_random_uuid(), id, 'welcome', 'v1', case when n % 20 = 0 then 'completed' else 'active' end, '{}', 's1',
        case when n % 20 = 0 then null when n % 100 = 1 then $1::timestamptz - interval '1 minute' * (n % 60) else $1::timestamptz + interval '1 hour' * (n % 4000) end,
        $1::timestamptz - interval '1 day'
      from scale_contacts`, [s.until]);
    // Touches: five emails per contact, all sent but a thousandth still pending.
    await c.query(`insert into touches (id, key, enrollment_id, contact_id, sequence_id, step_id, kind, status, due_at, created_at, sent_at)
      select gen_random_uuid(), 'k-' || c.n || '-' || k, null, c.id, 'welcome', 's' || k, 'email',
        case when (c.n * 5 + k) % 1000 = 0 then 'pending' else 'sent' end, t, t, case when (c.n * 5 + k) % 1000 = 0 then null else t end
      from scale_contacts c cross join generate_series(1, 5) k
      cross join lateral (select $1::timestamptz - interval '1 hour' * ((c.n * 5 + k) % 8000) as t) tt`, [s.until]);
    // Events: evenly over the months, mostly engagement, a few opt-ins.
    await c.query(`insert into events (id, contact_id, type, occurred_at, received_at, data, touch_id)
      select 'ev-' || g, sc.id, (array['email_opened','email_clicked','page_viewed','email_opened','opt_in'])[1 + g % 5], t, t, '{}', null
      from generate_series(1, $1::bigint) g
      join scale_contacts sc on sc.n = 1 + (g * 7919) % $2::bigint
      cross join lateral (select $3::timestamptz + (g::float8 / $1) * ($4::timestamptz - $3::timestamptz) as t) tt`,
      [s.events, s.contacts, from, s.until]);
    await c.query('insert into event_ids (id, received_at) select id, received_at from events');
    await c.query('insert into touch_keys (key) select key from touches');
    await c.query(`insert into event_intake (id, payload, source) select 'ev-' || g, '{}', 'api' from generate_series(1, 200) g`);
    await c.query('set session_replication_role = origin');
    await c.query('vacuum analyze');
  } finally {
    await c.end();
  }
  return { seconds: (Date.now() - started) / 1000 };
}

/** A Kysely on `url` that records every statement it runs, so a test explains what the repositories really send. */
export function recordingKysely(url: string): { db: Kysely<Database>; queries: CompiledQuery[]; close(): Promise<void> } {
  const queries: CompiledQuery[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (e) => {
      if (e.level === 'query') queries.push(e.query);
    },
  });
  return { db, queries, close: () => db.destroy() };
}

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Subplans Removed'?: number;
  'Actual Loops'?: number;
  /** Per loop, as EXPLAIN ANALYZE gives it. */
  'Actual Rows'?: number;
  'Conflict Arbiter Indexes'?: string[];
  Plans?: PlanNode[];
}

/** Every node of a plan, depth first. */
export function planNodes(root: PlanNode): PlanNode[] {
  return [root, ...(root.Plans ?? []).flatMap(planNodes)];
}

/** EXPLAIN (FORMAT JSON[, ANALYZE]) of a compiled statement, in a transaction rolled back (ANALYZE runs it). */
export async function explain(url: string, q: { sql: string; parameters: readonly unknown[] }, o: { analyze?: boolean } = {}): Promise<PlanNode> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('begin');
    const r = await c.query(`explain (format json${o.analyze ? ', analyze, timing off' : ''}) ${q.sql}`, [...q.parameters]);
    await c.query('rollback');
    return (r.rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
  } finally {
    await c.end();
  }
}

/**
 * Runs `f` on `rec` in a transaction rolled back (the data stays as it was), then EXPLAINs the
 * last statement it sent, on `url`; returns the plan and that statement's text.
 */
export async function planOfLast(
  rec: ReturnType<typeof recordingKysely>,
  url: string,
  f: (tx: Kysely<Database>) => Promise<unknown>,
  o: { analyze?: boolean } = {},
): Promise<{ plan: PlanNode; sql: string }> {
  const n = rec.queries.length;
  const rollback = new Error('rollback');
  await rec.db
    .transaction()
    .execute(async (tx) => {
      await f(tx);
      throw rollback;
    })
    .catch((err: unknown) => {
      if (err !== rollback) throw err;
    });
  const q = rec.queries.slice(n).filter((x) => !/^(begin|commit|rollback)/i.test(x.sql)).at(-1)!;
  return { plan: await explain(url, q, o), sql: q.sql };
}
