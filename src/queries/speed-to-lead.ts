import { iso } from './durations.js';
import type { DurationSummary } from '../reports/figures.js';
import { summarize } from '../reports/figures.js';
import type { ReadDb } from './read-db.js';

/**
 * Speed-to-lead, per lead and per rep: from the request (the lead call's creation, when the
 * promotion made it) to the first call attempt and to the first connected call, and whether the
 * SLA deadline was met, breached, or is still running. A lead call is the high-priority call task a
 * promotion makes (no touch, no enrollment). A rep is credited with the leads they hold now (after any
 * reassignment: the one who made, or should make, the call).
 */

export type SlaState = 'met' | 'breached' | 'pending' | 'none';

export interface LeadSpeed {
  taskId: number;
  contact: string;
  assignee: string | null;
  team: string | null;
  requestedAt: string;
  slaDueAt: string | null;
  firstAttemptAt: string | null;
  firstConnectedAt: string | null;
  toAttemptSeconds: number | null;
  toConnectedSeconds: number | null;
  sla: SlaState;
}

export interface RepSpeed {
  /** The assignee's email; null: leads nobody holds (a team's queue, unassigned). */
  assignee: string | null;
  leads: number;
  toAttempt: DurationSummary;
  toConnected: DurationSummary;
  met: number;
  breached: number;
  pending: number;
}

export interface SpeedToLeadReport {
  since: string | null;
  asOf: string;
  leads: LeadSpeed[];
  reps: RepSpeed[];
  total: Omit<RepSpeed, 'assignee'>;
}

/** The SLA state of one lead call: breached when recorded so (or due and not attempted), met when attempted by the deadline. */
export function slaState(r: { sla_due_at: Date | null; breached_at: Date | null; first_attempt_at: Date | null }, now: Date): SlaState {
  if (r.sla_due_at === null) return 'none';
  if (r.breached_at !== null) return 'breached';
  if (r.first_attempt_at !== null) return r.first_attempt_at <= r.sla_due_at ? 'met' : 'breached';
  return r.sla_due_at < now ? 'breached' : 'pending';
}

const seconds = (from: Date, to: Date | null) => (to === null ? null : Math.max(0, (to.getTime() - from.getTime()) / 1000));

function rollUp(leads: readonly LeadSpeed[]): Omit<RepSpeed, 'assignee'> {
  const nums = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  return {
    leads: leads.length,
    toAttempt: summarize(nums(leads.map((l) => l.toAttemptSeconds))),
    toConnected: summarize(nums(leads.map((l) => l.toConnectedSeconds))),
    met: leads.filter((l) => l.sla === 'met').length,
    breached: leads.filter((l) => l.sla === 'breached').length,
    pending: leads.filter((l) => l.sla === 'pending').length,
  };
}

export async function speedToLeadReport(db: ReadDb, f: { since?: Date | undefined; assignee?: string | undefined; now: Date; limit?: number }): Promise<SpeedToLeadReport> {
  let q = db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .select(['tasks.id', 'contacts.email', 'tasks.assignee', 'tasks.team', 'tasks.created_at', 'tasks.sla_due_at', 'tasks.breached_at', 'tasks.first_attempt_at', 'tasks.first_connected_at'])
    .where('tasks.kind', '=', 'call')
    .where('tasks.touch_id', 'is', null)
    .where('tasks.enrollment_id', 'is', null)
    .where('tasks.priority', '=', 'high')
    .where('tasks.status', '!=', 'cancelled');
  if (f.since) q = q.where('tasks.created_at', '>=', f.since);
  if (f.assignee) q = q.where('tasks.assignee', '=', f.assignee.trim().toLowerCase());
  const rows = await q.orderBy('tasks.created_at', 'desc').orderBy('tasks.id', 'desc').limit(f.limit ?? 10_000).execute();
  const leads: LeadSpeed[] = rows.map((r) => ({
    taskId: r.id,
    contact: r.email,
    assignee: r.assignee,
    team: r.team,
    requestedAt: r.created_at.toISOString(),
    slaDueAt: iso(r.sla_due_at),
    firstAttemptAt: iso(r.first_attempt_at),
    firstConnectedAt: iso(r.first_connected_at),
    toAttemptSeconds: seconds(r.created_at, r.first_attempt_at),
    toConnectedSeconds: seconds(r.created_at, r.first_connected_at),
    sla: slaState(r, f.now),
  }));
  const byRep = new Map<string | null, LeadSpeed[]>();
  for (const l of leads) byRep.set(l.assignee, [...(byRep.get(l.assignee) ?? []), l]);
  const reps = [...byRep.entries()]
    .map(([assignee, ls]) => ({ assignee, ...rollUp(ls) }))
    .sort((a, b) => (a.assignee ?? '\uffff').localeCompare(b.assignee ?? '\uffff'));
  return { since: f.since?.toISOString() ?? null, asOf: f.now.toISOString(), leads, reps, total: rollUp(leads) };
}
