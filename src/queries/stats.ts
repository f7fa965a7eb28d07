import { leadsByReason, optInLeadStats } from '../db/contact-repository.js';
import { activeEnrollmentCounts } from '../db/enrollment-repository.js';
import { countFailedEvents } from '../db/event-repository.js';
import { intakeBacklog } from '../db/intake-repository.js';
import type { TaskKind, TouchStatus } from '../db/schema.js';
import { mailTransportHealth } from '../db/service-health-repository.js';
import { openTaskCounts } from '../db/task-repository.js';
import { emailStatusCounts } from '../db/touch-repository.js';
import type { DateTime } from 'luxon';
import type { ReadDb } from './read-db.js';
import type { StuckCounts } from './stuck-enrollments.js';
import { countStuck } from './stuck-enrollments.js';

/**
 * The numbers everyone asks for. With `since`, the opt-in figures are about the contacts who
 * opted in since then (conversion and time to lead are of that cohort), leads and reasons about
 * promotions since then, emails about those created since then and failed events about those
 * received since then. Open tasks and active enrollments are always as of `now`.
 */

export const EMAIL_STATUSES = ['pending', 'held', 'sending', 'sent', 'failed', 'cancelled'] as const satisfies readonly TouchStatus[];
export const TASK_KINDS_SHOWN: readonly TaskKind[] = ['call', 'postcard', 'letter', 'notice'];

export interface StatsReport {
  since: string | null;
  asOf: string;
  /** Contacts who opted in (since `since`). */
  optedIn: number;
  /** Contacts who are leads (promoted since `since`). */
  leads: number;
  /** Of the opted-in contacts, how many became a lead after opting in, and the share in percent (one decimal). */
  converted: number;
  conversionPercent: number | null;
  /** Time from opt-in to lead over the converted contacts, in seconds. */
  timeToLead: { leads: number; medianSeconds: number | null; p90Seconds: number | null; minSeconds: number | null; maxSeconds: number | null };
  leadsByReason: { reason: string | null; leads: number }[];
  emails: Record<(typeof EMAIL_STATUSES)[number], number> & { inDoubt: number };
  openTasks: Record<TaskKind, number> & { overdue: number };
  activeEnrollments: { sequenceId: string; active: number }[];
  failedEvents: number;
  /** Events received over HTTP and committed, not applied yet (`event_intake`): a backlog that grows says the engine is not draining it. */
  intake: { waiting: number; oldestAt: string | null };
  /** Work set aside for an operator: quarantined wake-ups and emails that gave up (`nurture enrollments stuck`). */
  stuck: StuckCounts;
  /** The mail transport as the engine last saw it: `down` says since when and why. */
  mail: { state: 'up' | 'down' | 'unknown'; detail: string | null; since: string | null; checkedAt: string | null };
}

export async function stats(db: ReadDb, o: { now: DateTime; since?: Date | undefined }): Promise<StatsReport> {
  const since = o.since;
  const cohort = await optInLeadStats(db, since);
  const reasons = await leadsByReason(db, since);
  const emailRows = await emailStatusCounts(db, since);
  const taskRows = await openTaskCounts(db, o.now.toJSDate());
  const enrollments = await activeEnrollmentCounts(db);
  const failedEvents = await countFailedEvents(db, since);
  const stuck = await countStuck(db);
  const backlog = await intakeBacklog(db);
  const health = await mailTransportHealth(db);
  const mail =
    health.state === 'unknown'
      ? { state: health.state, detail: null, since: null, checkedAt: null }
      : { state: health.state, detail: health.detail, since: health.since.toISOString(), checkedAt: health.checkedAt.toISOString() };

  const emails = { pending: 0, held: 0, sending: 0, sent: 0, failed: 0, cancelled: 0, inDoubt: 0 };
  for (const r of emailRows) {
    if ((EMAIL_STATUSES as readonly string[]).includes(r.status)) emails[r.status as (typeof EMAIL_STATUSES)[number]] += r.emails;
    emails.inDoubt += r.inDoubt;
  }
  const openTasks = { call: 0, postcard: 0, letter: 0, notice: 0, overdue: 0 };
  for (const r of taskRows) {
    openTasks[r.kind] += r.open;
    openTasks.overdue += r.overdue;
  }
  const data: StatsReport = {
    since: since ? since.toISOString() : null,
    asOf: o.now.toUTC().toISO()!,
    optedIn: cohort.optedIn,
    leads: reasons.reduce((n, r) => n + r.leads, 0),
    converted: cohort.converted,
    conversionPercent: cohort.optedIn === 0 ? null : Math.round((cohort.converted / cohort.optedIn) * 1000) / 10,
    timeToLead: {
      leads: cohort.converted,
      medianSeconds: cohort.medianSeconds,
      p90Seconds: cohort.p90Seconds,
      minSeconds: cohort.minSeconds,
      maxSeconds: cohort.maxSeconds,
    },
    leadsByReason: reasons,
    emails,
    openTasks,
    activeEnrollments: enrollments,
    failedEvents,
    intake: { waiting: backlog.waiting, oldestAt: backlog.oldestAt ? backlog.oldestAt.toISOString() : null },
    stuck,
    mail,
  };
  return data;
}

