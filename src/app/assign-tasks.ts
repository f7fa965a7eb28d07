import { DateTime } from 'luxon';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { UnassignedTask } from '../db/staff-work-repository.js';
import {
  insertTimers,
  lockContactsInOrder,
  lockTeamCursors,
  lockUnassignedTasks,
  openTaskLoads,
  saveTeamCursor,
  setContactOwnerIfNone,
  unassignedTaskCandidates,
  writeAssignment,
} from '../db/staff-work-repository.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import type { ContactFacts } from '../staff/assign.js';
import { decideAssignment } from '../staff/assign.js';
import type { TeamDirectory } from '../staff/directory.js';
import { planSla, slaCalendar } from '../staff/sla.js';
import type { AppContext } from './context.js';
import type { Metrics } from './metrics.js';

/** Most tasks decided in one transaction. */
export const ASSIGN_BATCH = 200;

export interface AssignResult {
  assigned: number;
  queued: number;
  unassigned: number;
}

const contactFacts = z.object({
  attributes: z.record(z.string(), z.unknown()).catch({}),
  tags: z.array(z.string()).catch([]),
});

function factsOf(t: UnassignedTask, owner: string | null): ContactFacts {
  const f = contactFacts.parse({ attributes: t.attributes ?? {}, tags: t.tags ?? [] });
  return { owner, attributes: f.attributes, tags: f.tags, timezone: t.timezone };
}

/**
 * Makes the assignment decision for tasks that have none yet (assigned_at null): who, or which
 * team's queue, and why; the SLA deadline and its escalation timers; the contact's fixed owner
 * when a rep is chosen for a call. One transaction per batch. The contacts are locked before their
 * tasks (in contact-id order), as the engine and completions do: locking the tasks first deadlocked
 * with them. Tasks are then locked with SKIP LOCKED so several processes share the work; the team
 * cursors are locked so one rotation runs at a time.
 * Escalation steps already past at assignment (a backlog from before the directory existed) are
 * not planned: reminding that late helps nobody; the breach timer always is.
 */
export async function assignTasks(app: AppContext, o: { now: DateTime; batch?: number; metrics?: Metrics | undefined }): Promise<AssignResult> {
  const dir = app.staff;
  const out: AssignResult = { assigned: 0, queued: 0, unassigned: 0 };
  if (!dir) return out;
  const limit = o.batch ?? ASSIGN_BATCH;
  for (;;) {
    const n = await app.deps.db.transaction().execute((tx) => assignBatch(tx, dir, limit, o.now, out));
    if (n < limit) break;
  }
  if (o.metrics?.taskAssignment) {
    for (const k of ['assigned', 'queued', 'unassigned'] as const) for (let i = 0; i < out[k]; i++) o.metrics.taskAssignment(k);
  }
  return out;
}

async function assignBatch(tx: Kysely<Database>, dir: TeamDirectory, limit: number, now: DateTime, out: AssignResult): Promise<number> {
  const candidates = await unassignedTaskCandidates(tx, limit);
  if (candidates.length === 0) return 0;
  await lockContactsInOrder(tx, candidates.map((c) => c.contact_id));
  // Re-checked under the lock: another sweep may have decided some while we waited for the contacts.
  const tasks = await lockUnassignedTasks(tx, candidates.map((c) => c.id));
  if (tasks.length === 0) return 0;
  const cursors = await lockTeamCursors(tx);
  const loads = await openTaskLoads(tx);
  // Owners set earlier in this batch count for the contact's later tasks.
  const owners = new Map<string, string | null>();
  const at = now.toJSDate();
  for (const t of tasks) {
    const owner = owners.has(t.contact_id) ? owners.get(t.contact_id)! : t.owner;
    const decision = decideAssignment({ directory: dir, task: { kind: t.kind, priority: t.priority, title: t.title, sequence: t.sequence }, contact: factsOf(t, owner), loads, cursors, now });
    const assignee = decision.kind === 'assign' ? decision.assignee : null;
    const team = decision.kind === 'unassigned' ? null : decision.team;
    const createdAt = DateTime.fromJSDate(t.created_at, { zone: 'utc' });
    const plan = planSla(dir, { kind: t.kind, priority: t.priority, createdAt }, slaCalendar(dir, assignee, team));
    await writeAssignment(tx, t.id, { assignee, team, reason: decision.reason, at, slaDueAt: plan?.dueAt.toJSDate() ?? null });
    if (plan) {
      const timers = plan.timers.filter((x) => x.action === 'breach' || x.dueAt >= now);
      await insertTimers(tx, t.id, timers.map((x) => ({ step: x.step, action: x.action, dueAt: x.dueAt.toJSDate(), escalation: x.escalation })));
    }
    const detail: Record<string, unknown> = { rule: decision.kind === 'unassigned' ? null : decision.rule, team, slaDueAt: plan?.dueAt.toUTC().toISO() ?? null };
    if (decision.kind === 'assign') {
      loads.set(decision.assignee, (loads.get(decision.assignee) ?? 0) + 1);
      if (decision.cursor) {
        cursors.set(decision.cursor.team, decision.cursor.last);
        await saveTeamCursor(tx, decision.cursor.team, decision.cursor.last, at);
      }
      if (t.kind === 'call' && owner === null) {
        await setContactOwnerIfNone(tx, t.contact_id, decision.assignee);
        owners.set(t.contact_id, decision.assignee);
      }
      await recordTaskActivity(tx, { taskId: t.id, actor: 'system', action: 'assigned', reason: decision.reason, detail: { ...detail, assignee: decision.assignee }, at });
      out.assigned++;
    } else {
      await recordTaskActivity(tx, { taskId: t.id, actor: 'system', action: 'queued', reason: decision.reason, detail, at });
      if (decision.kind === 'queue') out.queued++;
      else out.unassigned++;
    }
  }
  return tasks.length;
}
