import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockContact } from '../../src/db/contact-repository.js';
import { dueWakes } from '../../src/db/enrollment-repository.js';
import { insertEvents, recentHistory, storedEventBodies } from '../../src/db/event-repository.js';
import { settleIntake } from '../../src/db/intake-repository.js';
import { lockTouch, recentEmailTimes, unsentEmails } from '../../src/db/touch-repository.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import { createTestDatabase } from '../support/databases.js';
import { explain, generateScaleData, planNodes, planOfLast, recordingKysely } from '../support/partition-data.js';
import type { PlanNode } from '../support/partition-data.js';
import { openStore } from '../../src/db/database.js';

/**
 * The hot queries at scale, as the repositories send them (recorded, then EXPLAINed against
 * generated data): the sweeper's due wake-ups and unsent emails, the contact lock, the event
 * dedupe (claim, redelivery check, intake settle), a contact's history read on each step, and
 * the touches (partitioned by month too): a touch locked by id, a contact's recent emails, the
 * touch key claim.
 * None may scan a big table; event lookups by id touch one partition.
 *
 * Size: NURTURE_TEST_SCALE_EVENTS events (1,000,000 by default: about a minute to generate on
 * 2 shared cores; 10,000,000 takes about ten: `NURTURE_TEST_SCALE_EVENTS=10000000 npx vitest
 * run test/integration/event-partitions-plans.test.ts`, figures in the README) over 24 monthly
 * partitions, 100,000 contacts, 100,000 enrollments, 500,000 touches. Plans depend on sizes the
 * planner sees, not on the count alone: a partition of 1M/24 rows and one of 10M/24 both make
 * an index probe cheaper than a scan by orders of magnitude, which is what the assertions hold.
 */

const EVENTS = Number(process.env.NURTURE_TEST_SCALE_EVENTS ?? 300_000);
const CONTACTS = Math.max(10_000, Math.min(100_000, EVENTS / 10));
const MONTHS = 24;
const UNTIL = new Date('2026-11-30T12:00:00Z');
/** Relations too big to scan (those with rows; the planner rightly scans an empty partition): a Seq Scan on any of them fails the test. */
const BIG = new Set<string>();

function summary(plan: PlanNode): string[] {
  return planNodes(plan).map((n) => [n['Node Type'], n['Relation Name'], n['Index Name'] && `using ${n['Index Name']}`, n['Actual Loops'] === 0 ? '(never executed)' : ''].filter(Boolean).join(' '));
}

function seqScansOfBigTables(plan: PlanNode): string[] {
  return planNodes(plan).filter((n) => n['Node Type'] === 'Seq Scan' && BIG.has(n['Relation Name'] ?? '')).map((n) => n['Relation Name']!);
}

const indexScans = (plan: PlanNode, relation: RegExp) =>
  planNodes(plan).filter((n) => /^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/.test(n['Node Type']) && relation.test(n['Relation Name'] ?? ''));

describe(`hot queries at ${EVENTS.toLocaleString('en')} events`, { timeout: 1_800_000 }, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let rec: ReturnType<typeof recordingKysely>;
  let contactId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const store = await openStore({ databaseUrl: database.url, dataDir: '/tmp/nurture-unused', poolSize: 1 });
    await store.close();
    const { seconds } = await generateScaleData(database.url, { events: EVENTS, contacts: CONTACTS, months: MONTHS, until: UNTIL });
    console.log(`generated ${EVENTS} events in ${seconds.toFixed(1)} s`);
    rec = recordingKysely(database.url);
    const { rows } = await sql<{ name: string }>`select relname as name from pg_class where relkind = 'r' and reltuples > 0 and relnamespace = 'public'::regnamespace`.execute(rec.db);
    // event_intake is the queue of events not yet applied: it stays small, and settling reads it whole.
    for (const r of rows) if (r.name !== 'event_intake') BIG.add(r.name);
    expect([...BIG]).toEqual(expect.arrayContaining(['contacts', 'enrollments', 'touch_keys', 'touches_y2026m11', 'event_ids', 'events_y2024m12', 'events_y2026m11']));
    contactId = (await rec.db.selectFrom('contacts').select('id').limit(1).executeTakeFirstOrThrow()).id;
  }, 1_800_000);
  afterAll(async () => {
    await rec?.close();
    await database?.drop({ checkLeaks: true });
  });

  /** The plan of the last statement `f` sends (rolled back: the data stays as generated), logged. */
  async function planOf(f: (tx: Kysely<Database>) => Promise<unknown>, o: { analyze?: boolean } = {}): Promise<PlanNode> {
    const { plan, sql: text } = await planOfLast(rec, database.url, f, o);
    console.log(`${text.slice(0, 90)}…\n  ${summary(plan).join('\n  ')}`);
    return plan;
  }

  it('finds due wake-ups and unsent emails through indexes (the sweeper)', async () => {
    const wakes = await planOf((tx) => dueWakes(tx, UNTIL, 5_000), { analyze: true });
    expect(seqScansOfBigTables(wakes)).toEqual([]);
    expect(indexScans(wakes, /^enrollments$/)).not.toHaveLength(0);
    const emails = await planOf((tx) => unsentEmails(tx, UNTIL, 5_000), { analyze: true });
    expect(seqScansOfBigTables(emails)).toEqual([]);
    expect(indexScans(emails, /^touches_y/)).not.toHaveLength(0);
  });

  it('locks a contact by its primary key', async () => {
    const plan = await planOf((tx) => lockContact(tx, contactId));
    expect(seqScansOfBigTables(plan)).toEqual([]);
    expect(indexScans(plan, /^contacts$/).map((n) => n['Index Name'])).toEqual(['contacts_pkey']);
  });

  it('dedupes an event id by the primary key of event_ids, whatever month it came in', async () => {
    // What the insert trigger runs for each row: one probe of event_ids_pkey (the arbiter).
    const claim = await explain(database.url, { sql: "insert into event_ids (id, received_at) values ($1, now()) on conflict (id) do nothing", parameters: ['ev-1'] });
    expect(claim['Conflict Arbiter Indexes']).toEqual(['event_ids_pkey']);
    // And the batch insert really is deduplicated by it: a seen id is skipped, a new one kept.
    const e = (id: string) => ({ event: { id, type: 'email_opened', occurredAt: UNTIL.toISOString(), contact: { email: 'x@scale.test' }, data: {} } as NurtureEvent, contactId, touchId: null });
    const fresh = await rec.db.transaction().execute(async (tx) => {
      const ids = await insertEvents(tx, [e('ev-7'), e('scale-new')]);
      await tx.deleteFrom('events').where('id', '=', 'scale-new').execute();
      return ids;
    });
    expect([...fresh]).toEqual(['scale-new']);
  });

  it('reads redelivered events from one partition, and settles the intake by index only', async () => {
    // Ids of one month (the first ones generated).
    const bodies = await planOf((tx) => storedEventBodies(tx, ['ev-10', 'ev-20', 'ev-30']), { analyze: true });
    expect(seqScansOfBigTables(bodies)).toEqual([]);
    expect(indexScans(bodies, /^event_ids$/).map((n) => n['Index Name'])).toEqual(['event_ids_pkey']);
    const partitionsRead = indexScans(bodies, /^events_y/).filter((n) => (n['Actual Loops'] ?? 0) > 0);
    expect(partitionsRead.map((n) => n['Relation Name'])).toEqual(['events_y2024m12']);

    const settle = await planOf((tx) => settleIntake(tx), { analyze: true });
    expect(seqScansOfBigTables(settle)).toEqual([]);
    expect(planNodes(settle).filter((n) => n['Relation Name'] === 'event_ids').map((n) => `${n['Node Type']} ${n['Index Name']}`)).toEqual(['Index Only Scan event_ids_pkey']);
  });

  it("locks a touch by id and reads a contact's recent emails through each month's index; claims a touch key by touch_keys_pkey", async () => {
    const id = (await rec.db.selectFrom('touches').select('id').where('created_at', '<', UNTIL).orderBy('created_at', 'desc').limit(1).executeTakeFirstOrThrow()).id;
    const lock = await planOf((tx) => lockTouch(tx, id), { analyze: true });
    expect(seqScansOfBigTables(lock)).toEqual([]);
    const probes = indexScans(lock, /^touches_y/);
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((n) => /_pkey$/.test(n['Index Name'] ?? ''))).toBe(true);

    const recent = await planOf((tx) => recentEmailTimes(tx, contactId, new Date(UNTIL.getTime() - 30 * 86_400_000)), { analyze: true });
    expect(seqScansOfBigTables(recent)).toEqual([]);
    expect(indexScans(recent, /^touches_y/).length).toBeGreaterThan(0);

    // What the insert trigger runs for each new touch: one probe of touch_keys_pkey (the arbiter).
    const claim = await explain(database.url, { sql: 'insert into touch_keys (key) values ($1) on conflict (key) do nothing', parameters: ['k-1-1'] });
    expect(claim['Conflict Arbiter Indexes']).toEqual(['touch_keys_pkey']);
  });

  it("reads a contact's latest events through each partition's index (every wake-up and event)", async () => {
    const plan = await planOf((tx) => recentHistory(tx, contactId), { analyze: true });
    expect(seqScansOfBigTables(plan)).toEqual([]);
    expect(indexScans(plan, /^events_y/).length).toBeGreaterThan(0);
  });
});
