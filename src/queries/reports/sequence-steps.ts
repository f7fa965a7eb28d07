import { sql } from 'kysely';
import { loadVersion } from '../../db/sequence-repository.js';
import { compileSequence } from '../../sequences/compile.js';
import { percent } from '../../reports/figures.js';
import type { ReadDb } from '../read-db.js';

/**
 * `nurture report sequences`: per sequence and per step, how many enrollments reached the step,
 * how many of its touches went out, were opened and clicked (email_opened / email_clicked events
 * tied to the touch), converted and exited there (and why), so a marketer sees which touch works.
 *
 * - entered: enrollments with a touch at the step (touch steps only: a wait leaves no row; inside
 *   a repeat, those that had its first iteration);
 * - sent: touches sent (emails) or done (tasks);
 * - opened / clicked: emails with at least one such event (percent of those sent); hits flagged as a link scanner's are not counted (the rollup's triggers leave them out);
 * - converted: last-touch attribution: enrollments that converted (a goal, or the contact became
 *   a lead while enrolled) whose last touch that went out before it was at this step;
 * - exited: enrollments that ended early (exit rule, unsubscribe, promotion, removed, retired)
 *   while at this step, by reason; `completed` ones ran to the end.
 */

export interface StepRow {
  stepId: string;
  kind: string;
  entered: number | null;
  sent: number | null;
  opened: number | null;
  clicked: number | null;
  openPercent: number | null;
  clickPercent: number | null;
  converted: number;
  exited: number;
  exitReasons: { reason: string; enrollments: number }[];
  /** The step is not in the sequence's current version (it was removed by an edit). */
  removed: boolean;
}

export interface SequenceReportRow {
  sequenceId: string;
  status: string;
  enrolled: number;
  active: number;
  completed: number;
  exited: number;
  converted: number;
  conversionPercent: number | null;
  steps: StepRow[];
}

export interface SequencesReport {
  since: string | null;
  sequence: string | null;
  asOf: string;
  sequences: SequenceReportRow[];
}

export interface SequencesFilter {
  /** Enrollments that began since then. */
  since?: Date | undefined;
  sequence?: string | undefined;
  now: Date;
}

export async function sequencesReport(db: ReadDb, f: SequencesFilter): Promise<SequencesReport> {
  const where = sql.join(
    [sql`true`, ...(f.since ? [sql`en.enrolled_at >= ${f.since}`] : []), ...(f.sequence !== undefined ? [sql`en.sequence_id = ${f.sequence}`] : [])],
    sql` and `,
  );
  const seqs = await sql<{ id: string; status: string; active_version: string }>`
    select id, status, active_version from sequences ${f.sequence !== undefined ? sql`where id = ${f.sequence}` : sql``} order by id`.execute(db);
  const totals = await sql<{ sequence_id: string; enrolled: number; active: number; completed: number; exited: number }>`
    select en.sequence_id, count(*)::int as enrolled,
      (count(*) filter (where en.status = 'active'))::int as active,
      (count(*) filter (where en.status = 'completed'))::int as completed,
      (count(*) filter (where en.status = 'exited'))::int as exited
    from enrollments en where ${where} group by en.sequence_id`.execute(db);
  const exits = await sql<{ sequence_id: string; step_id: string | null; reason: string | null; n: number }>`
    select en.sequence_id, en.step_id, en.exit_reason as reason, count(*)::int as n
    from enrollments en where ${where} and en.status = 'exited' group by 1, 2, 3 order by n desc, reason`.execute(db);
  const steps = await sql<{ sequence_id: string; step_id: string; kind: string; entered: number; sent: number; opened: number; clicked: number }>`
    select t.sequence_id, t.step_id, min(t.kind) as kind,
      -- A touch's key is "<enrollment>/<step>" plus "#<n>" per enclosing repeat, so an enrollment's
      -- first touch at a step is the one whose iterations are all 1: counted without count(distinct),
      -- which would sort every touch.
      (count(*) filter (where t.key !~ '#' or t.key ~ '^[^#]*(#1)+$'))::int as entered,
      (count(*) filter (where t.status in ('sent', 'done')))::int as sent,
      (count(*) filter (where g.opened_at is not null))::int as opened,
      (count(*) filter (where g.clicked_at is not null))::int as clicked
    from touches t
    ${f.since ? sql`join enrollments en on en.id = t.enrollment_id and en.enrolled_at >= ${f.since}` : sql``}
    left join report_touch_engagement g on g.touch_id = t.id
    where t.enrollment_id is not null ${f.sequence !== undefined ? sql`and t.sequence_id = ${f.sequence}` : sql``}
    group by 1, 2`.execute(db);
  // An enrollment converted at the instant its goal ended it, or at the contact's first stage
  // change to lead (or beyond) while it was enrolled.
  const converted = await sql<{ sequence_id: string; step_id: string | null; n: number }>`
    with lead as (
      select contact_id, min(at) as lead_at from stage_changes
      where kind = 'stage' and to_stage in ('lead', 'customer') group by contact_id
    ),
    conv as (
      select en.id, en.sequence_id, case when en.status = 'converted' then en.ended_at else l.lead_at end as at
      from enrollments en left join lead l on l.contact_id = en.contact_id
      where ${where} and (en.status = 'converted'
        or (l.lead_at >= en.enrolled_at and (en.ended_at is null or l.lead_at <= en.ended_at)))
    )
    select conv.sequence_id, lt.step_id, count(*)::int as n
    from conv left join lateral (
      select t.step_id from touches t
      where t.enrollment_id = conv.id and t.status in ('sent', 'done') and coalesce(t.sent_at, t.created_at) <= conv.at
      order by coalesce(t.sent_at, t.created_at) desc, t.id desc limit 1
    ) lt on true
    group by 1, 2`.execute(db);

  const known = new Map(seqs.rows.map((s) => [s.id, s]));
  for (const t of totals.rows) if (!known.has(t.sequence_id)) known.set(t.sequence_id, { id: t.sequence_id, status: 'unknown', active_version: '' });
  const rows: SequenceReportRow[] = [];
  for (const s of [...known.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const order = await stepOrder(db, s.id, s.active_version);
    const mine = <T extends { sequence_id: string }>(list: T[]) => list.filter((r) => r.sequence_id === s.id);
    const stepRows = new Map<string, StepRow>();
    const row = (stepId: string, kind: string, removed: boolean): StepRow => {
      let r = stepRows.get(stepId);
      if (!r) {
        r = { stepId, kind, entered: null, sent: null, opened: null, clicked: null, openPercent: null, clickPercent: null, converted: 0, exited: 0, exitReasons: [], removed };
        stepRows.set(stepId, r);
      }
      return r;
    };
    for (const [id, kind] of order) row(id, kind, false);
    for (const t of mine(steps.rows)) {
      const r = row(t.step_id, t.kind, true);
      // Opens and clicks are about emails; a call or a postcard has none to count.
      const email = t.kind === 'email';
      Object.assign(r, {
        entered: t.entered,
        sent: t.sent,
        opened: email ? t.opened : null,
        clicked: email ? t.clicked : null,
        openPercent: email ? percent(t.opened, t.sent) : null,
        clickPercent: email ? percent(t.clicked, t.sent) : null,
      });
    }
    let convertedTotal = 0;
    for (const c of mine(converted.rows)) {
      convertedTotal += c.n;
      row(c.step_id ?? '(before any touch)', '-', c.step_id !== null).converted += c.n;
    }
    for (const e of mine(exits.rows)) {
      const r = row(e.step_id ?? '(no step)', '-', e.step_id !== null);
      r.exited += e.n;
      r.exitReasons.push({ reason: e.reason ?? '(none)', enrollments: e.n });
    }
    const t = mine(totals.rows)[0];
    const enrolled = t?.enrolled ?? 0;
    rows.push({
      sequenceId: s.id,
      status: s.status,
      enrolled,
      active: t?.active ?? 0,
      completed: t?.completed ?? 0,
      exited: t?.exited ?? 0,
      converted: convertedTotal,
      conversionPercent: percent(convertedTotal, enrolled),
      steps: [...stepRows.values()],
    });
  }
  return { since: f.since ? f.since.toISOString() : null, sequence: f.sequence ?? null, asOf: f.now.toISOString(), sequences: rows };
}

/** The steps of the sequence's current version, in file order, with their kind. */
async function stepOrder(db: ReadDb, sequenceId: string, version: string): Promise<[string, string][]> {
  if (!version) return [];
  const stored = await loadVersion(db, sequenceId, version);
  if (!stored) return [];
  const compiled = compileSequence(stored.definition);
  if (!compiled.ok) return [];
  return [...compiled.program.steps.entries()];
}
