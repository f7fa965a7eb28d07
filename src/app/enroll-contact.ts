import type { DateTime } from 'luxon';
import { toContact } from '../db/contact-repository.js';
import { enrollmentsOfContact } from '../db/enrollment-repository.js';
import type { AfterCommit, ContactScope } from '../engine/engine-deps.js';
import { emptyAfterCommit } from '../engine/engine-deps.js';
import { enroll } from '../engine/advance-enrollment.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { mayEnter } from '../sequences/lifecycle.js';
import { lockContactByEmail } from './contact-lock.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export interface EnrollContactResult {
  enrollmentId: string;
  sequenceId: string;
  version: string;
  email: string;
  /** The sequence's re-entry policy would have refused; --force overrode it (and only it). */
  forced: string | null;
  /** Where the enrollment is after its first steps ran (an email may already be on its way). */
  status: string;
  stepId: string | null;
  after: AfterCommit;
}

/**
 * Enrolls a contact in a live sequence by hand, through the engine's own `enroll` (the same
 * first steps, touch keys and follow-up work as a trigger). The sequence's rules hold: never two
 * active enrollments in one sequence, never an unsubscribed contact, a lead or a paused contact.
 * `force` overrides the re-entry policy alone (`once`, `after: 90 days`): an operator who enrolls
 * someone again on purpose means it, but consent and "never twice at once" are not theirs to skip.
 */
export async function enrollContact(ctx: AppContext, email: string, sequenceId: string, now: DateTime, opts: { force?: boolean } = {}): Promise<EnrollContactResult> {
  const { deps } = ctx;
  const result = await deps.db.transaction().execute(async (tx) => {
    const row = await lockContactByEmail(tx, email);
    await deps.registry.sync(tx); // a pause or retire committed a moment ago counts
    const program = deps.registry.activeProgram(sequenceId);
    if (!program) {
      const s = await tx.selectFrom('sequences').select('status').where('id', '=', sequenceId).executeTakeFirst();
      if (!s) throw new NotFoundError(`no sequence with id "${sequenceId}" in the store (see: nurture sequences list)`);
      throw new ConflictError(`sequence ${sequenceId} is ${s.status}: nobody can be enrolled in it (nurture sequences resume ${sequenceId} makes it live)`);
    }
    const contact = toContact(row);
    const past = (await enrollmentsOfContact(tx, row.id)).filter((e) => e.sequence_id === sequenceId);
    const decision = mayEnter(
      program.definition,
      contact,
      past.map((p) => ({ enrolledAt: p.enrolled_at.toISOString(), status: p.status })),
      now,
      deps.config.defaultZone,
    );
    let forced: string | null = null;
    if (!decision.enter) {
      const reentry = decision.reason.startsWith('reentry');
      if (!reentry || !opts.force) {
        const hint = reentry ? ' (--force enrolls anyway)' : decision.reason === 'paused' ? ` (nurture contacts resume ${row.email} first)` : '';
        throw new ConflictError(`${row.email} cannot be enrolled in ${sequenceId}: ${decision.reason}${hint}`);
      }
      forced = decision.reason;
    }
    const scope: ContactScope = { contact, history: undefined, recentEmails: undefined, after: emptyAfterCommit(), started: new Set() };
    // The engine re-checks entry against `past`; with --force the re-entry history is not given to it.
    const id = await enroll(tx, deps, scope, program, forced ? [] : past, now);
    if (!id) throw new ConflictError(`${row.email} cannot be enrolled in ${sequenceId} (the engine refused it)`);
    const made = await tx.selectFrom('enrollments').select(['status', 'step_id']).where('id', '=', id).executeTakeFirstOrThrow();
    return { enrollmentId: id, sequenceId, version: program.version, email: row.email, forced, status: made.status, stepId: made.step_id, after: scope.after };
  });
  // Committed: the follow-up work goes to the scheduler (a CLI command's leaves it to the sweeper).
  await scheduleOrLeave(ctx, result.after, now);
  return result;
}
