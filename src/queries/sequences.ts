import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { pendingWorkOf } from '../db/control-repository.js';
import type { Database, SequenceStatus } from '../db/schema.js';
import { NotFoundError } from '../errors.js';

/** The sequences the store knows, for `nurture sequences list` and the retire report: plain data. */

export interface SequenceListing {
  id: string;
  status: SequenceStatus;
  /** The version triggers enroll into while live (and that resume makes live again). */
  liveVersion: string;
  sourceFile: string | null;
  updatedAt: string;
  enrollments: {
    /** Running: not held by a pause. */
    active: number;
    /** Active but held by a pause of the sequence or of the contact. */
    paused: number;
    completed: number;
    /** Ended early: exit rules, unsubscribe, promotion, removed or retired by hand. */
    exited: number;
    converted: number;
  };
}

export async function listSequences(db: Kysely<Database>): Promise<SequenceListing[]> {
  const rows = await db
    .selectFrom('sequences')
    .leftJoin('sequence_versions', (j) => j.onRef('sequence_versions.sequence_id', '=', 'sequences.id').onRef('sequence_versions.version', '=', 'sequences.active_version'))
    .select(['sequences.id', 'sequences.status', 'sequences.active_version', 'sequences.updated_at', 'sequence_versions.source_file'])
    .orderBy('sequences.id')
    .execute();
  const counts = await db
    .selectFrom('enrollments')
    .select([
      'sequence_id',
      sql<number>`(count(*) filter (where status = 'active' and held_at is null))::int`.as('active'),
      sql<number>`(count(*) filter (where status = 'active' and held_at is not null))::int`.as('paused'),
      sql<number>`(count(*) filter (where status = 'completed'))::int`.as('completed'),
      sql<number>`(count(*) filter (where status = 'exited'))::int`.as('exited'),
      sql<number>`(count(*) filter (where status = 'converted'))::int`.as('converted'),
    ])
    .groupBy('sequence_id')
    .execute();
  const by = new Map(counts.map((c) => [c.sequence_id, c]));
  return rows.map((r) => {
    const c = by.get(r.id);
    return {
      id: r.id,
      status: r.status,
      liveVersion: r.active_version,
      sourceFile: r.source_file,
      updatedAt: r.updated_at.toISOString(),
      enrollments: {
        active: Number(c?.active ?? 0),
        paused: Number(c?.paused ?? 0),
        completed: Number(c?.completed ?? 0),
        exited: Number(c?.exited ?? 0),
        converted: Number(c?.converted ?? 0),
      },
    };
  });
}

export async function findSequence(db: Kysely<Database>, id: string): Promise<SequenceListing> {
  const s = (await listSequences(db)).find((x) => x.id === id);
  if (!s) {
    const known = (await db.selectFrom('sequences').select('id').orderBy('id').execute()).map((r) => r.id);
    throw new NotFoundError(`no sequence with id "${id}" in the store (known: ${known.length ? known.join(', ') : 'none; run nurture start first'})`);
  }
  return s;
}

export interface RetirePlan {
  sequence: SequenceListing;
  /** Contacts in flight (active, held or not), by the step they are at. */
  steps: { stepId: string | null; contacts: number }[];
  contacts: number;
  /** Unsent emails (pending or held) and open staff tasks that retiring cancels. */
  emails: number;
  tasks: number;
}

/** What `nurture sequences retire ID` would do, before it does it. */
export async function retirePlan(db: Kysely<Database>, id: string): Promise<RetirePlan> {
  const sequence = await findSequence(db, id);
  const rows = await db
    .selectFrom('enrollments')
    .select(['step_id', sql<number>`count(*)::int`.as('n')])
    .where('sequence_id', '=', id)
    .where('status', '=', 'active')
    .groupBy('step_id')
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('step_id')
    .execute();
  const steps = rows.map((r) => ({ stepId: r.step_id, contacts: Number(r.n) }));
  const work = await pendingWorkOf(db, { sequenceId: id });
  return { sequence, steps, contacts: steps.reduce((n, s) => n + s.contacts, 0), ...work };
}
