import type { Kysely } from 'kysely';
import { publishVersion } from '../../src/db/sequence-repository.js';
import type { Database } from '../../src/db/schema.js';
import type { Stage } from '../../src/sequences/stage.js';
import { programFromYaml } from './programs.js';

/**
 * A small store with known answers for the reports: seven opted-in contacts over two weeks (and
 * one lead who never opted in, who must not count), their stage changes (engaged and MQL rows
 * written by hand, as lead scoring will write them), one sequence's enrollments, touches, opens,
 * clicks and a call. The expected figures are worked out in test/integration/reports.test.ts.
 */

export const REPORT_SEQUENCE = `
id: welcome
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 days
  - email: guide
  - wait: 3 days
  - call: { note: "Intro call" }
`;

const H = 3_600_000;
const D = 24 * H;
const t = (iso: string, plus = 0) => new Date(new Date(iso).getTime() + plus);

export interface Person {
  email: string;
  optIn?: { at: Date; source?: string };
  stages?: [Stage, Date][];
  enrollment?: { status: 'active' | 'completed' | 'exited' | 'converted'; step: string | null; reason?: string; endedAt?: Date };
  touches?: { step: string; kind: 'email' | 'call'; at: Date; status: 'sent' | 'done'; opened?: boolean; clicked?: boolean; task?: { outcome: string; completedAt: Date } }[];
  events?: { type: string; at: Date }[];
}

export const REPORT_PEOPLE: Person[] = (() => {
  const ann = t('2026-11-23T10:00:00Z');
  const bob = t('2026-11-23T12:00:00Z');
  const cat = t('2026-11-24T09:00:00Z');
  const dan = t('2026-11-25T09:00:00Z');
  const eve = t('2026-12-01T08:00:00Z');
  const fay = t('2026-12-02T08:00:00Z');
  const hal = t('2026-12-01T09:00:00Z');
  return [
    {
      email: 'ann@example.com',
      optIn: { at: ann, source: 'website' },
      stages: [['engaged', t(ann.toISOString(), D)], ['mql', t(ann.toISOString(), 2 * D)], ['lead', t(ann.toISOString(), 3 * D)]],
      enrollment: { status: 'exited', step: 'guide-wait', reason: 'promoted', endedAt: t(ann.toISOString(), 3 * D) },
      touches: [
        { step: 'welcome', kind: 'email', at: ann, status: 'sent', opened: true },
        { step: 'guide', kind: 'email', at: t(ann.toISOString(), 2 * D), status: 'sent', clicked: true, opened: true },
      ],
      events: [{ type: 'info_requested', at: t(ann.toISOString(), 3 * D) }],
    },
    {
      email: 'bob@example.com',
      optIn: { at: bob, source: 'website' },
      stages: [['lead', t(bob.toISOString(), H / 2)]],
      enrollment: { status: 'exited', step: 'welcome-wait', reason: 'promoted', endedAt: t(bob.toISOString(), H / 2) },
      touches: [{ step: 'welcome', kind: 'email', at: bob, status: 'sent', opened: true }],
      events: [{ type: 'appointment_requested', at: t(bob.toISOString(), H / 2) }],
    },
    {
      email: 'cat@example.com',
      optIn: { at: cat, source: 'ads' },
      stages: [['engaged', t(cat.toISOString(), 2 * H)]],
      enrollment: { status: 'active', step: 'welcome-wait' },
      touches: [{ step: 'welcome', kind: 'email', at: cat, status: 'sent' }],
    },
    {
      email: 'dan@example.com',
      optIn: { at: dan, source: 'ads' },
      enrollment: { status: 'exited', step: 'welcome-wait', reason: 'event:unsubscribed', endedAt: t(dan.toISOString(), D) },
      touches: [{ step: 'welcome', kind: 'email', at: dan, status: 'sent' }],
    },
    {
      email: 'eve@example.com',
      optIn: { at: eve },
      stages: [['mql', t(eve.toISOString(), 6 * D)], ['lead', t(eve.toISOString(), 9 * D)], ['customer', t(eve.toISOString(), 19 * D)]],
      enrollment: { status: 'exited', step: 'call', reason: 'promoted', endedAt: t(eve.toISOString(), 9 * D) },
      touches: [
        { step: 'welcome', kind: 'email', at: eve, status: 'sent' },
        { step: 'guide', kind: 'email', at: t(eve.toISOString(), 2 * D), status: 'sent' },
        { step: 'call', kind: 'call', at: t(eve.toISOString(), 5 * D), status: 'done', task: { outcome: 'Connected', completedAt: t(eve.toISOString(), 7 * D) } },
      ],
    },
    { email: 'fay@example.com', optIn: { at: fay, source: 'website' } },
    { email: 'gus@example.com', stages: [['lead', t('2026-11-20T10:00:00Z')]] },
    {
      email: 'hal@example.com',
      optIn: { at: hal, source: 'website' },
      enrollment: { status: 'completed', step: null, endedAt: t(hal.toISOString(), 6 * D) },
      touches: [
        { step: 'welcome', kind: 'email', at: hal, status: 'sent' },
        { step: 'guide', kind: 'email', at: t(hal.toISOString(), 2 * D), status: 'sent' },
      ],
    },
  ];
})();

const RANK: Stage[] = ['subscriber', 'engaged', 'mql', 'lead', 'customer'];

export async function seedReportData(db: Kysely<Database>, people: readonly Person[] = REPORT_PEOPLE): Promise<void> {
  const program = programFromYaml(REPORT_SEQUENCE, 'welcome.yaml');
  await publishVersion(db, { sequenceId: program.sequenceId, version: program.version, definition: program.definition, sourceFile: 'welcome.yaml', templates: null });
  let n = 0;
  for (const p of people) {
    const last = p.stages?.at(-1)?.[0] ?? 'subscriber';
    const { id } = await db
      .insertInto('contacts')
      .values({ email: p.email, attributes: '{}', tags: '[]', status: last, opted_in_at: p.optIn?.at ?? null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const event = async (type: string, at: Date, data: Record<string, unknown> = {}, touchId: string | null = null) =>
      db.insertInto('events').values({ id: `e-${++n}`, contact_id: id, type, occurred_at: at, data: JSON.stringify(data), touch_id: touchId }).execute();
    if (p.optIn) await event('opt_in', p.optIn.at, p.optIn.source ? { source: p.optIn.source } : {});
    let from: Stage = 'subscriber';
    for (const [to, at] of p.stages ?? []) {
      if (RANK.indexOf(to) <= RANK.indexOf(from)) throw new Error('stages go forward');
      await db.insertInto('stage_changes').values({ contact_id: id, kind: 'stage', from_stage: from, to_stage: to, reason: `test:${to}`, event_id: null, at }).execute();
      from = to;
    }
    for (const e of p.events ?? []) await event(e.type, e.at);
    if (!p.enrollment || !p.optIn) continue;
    const en = await db
      .insertInto('enrollments')
      .values({
        contact_id: id,
        sequence_id: program.sequenceId,
        sequence_version: program.version,
        status: p.enrollment.status,
        exit_reason: p.enrollment.reason ?? (p.enrollment.status === 'completed' ? 'completed' : null),
        state: '{}',
        step_id: p.enrollment.step,
        next_wake_at: null,
        last_error: null,
        quarantined_at: null,
        enrolled_at: p.optIn.at,
        ended_at: p.enrollment.endedAt ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const [i, x] of (p.touches ?? []).entries()) {
      const touch = await db
        .insertInto('touches')
        .values({
          key: `${en.id}/${x.step}/${i}`,
          enrollment_id: en.id,
          contact_id: id,
          sequence_id: program.sequenceId,
          step_id: x.step,
          kind: x.kind,
          template: x.kind === 'email' ? x.step : null,
          status: x.status,
          message_id: null,
          subject: null,
          error: null,
          due_at: x.at,
          sent_at: x.kind === 'email' ? x.at : null,
          failed_at: null,
          created_at: x.at,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      if (x.opened) await event('email_opened', t(x.at.toISOString(), H), {}, touch.id);
      if (x.clicked) await event('email_clicked', t(x.at.toISOString(), 2 * H), {}, touch.id);
      // A link scanner's click on every other email: flagged, so no report counts it.
      else if (x.kind === 'email') await event('email_clicked', x.at, { suspectedScanner: true, scannerReason: 'after_delivery' }, touch.id);
      if (x.task)
        await db
          .insertInto('tasks')
          .values({ touch_id: touch.id, contact_id: id, enrollment_id: en.id, kind: 'call', priority: 'normal', status: 'done', title: 'Intro call', note: null, content: null, address: null, phone: null, history: '[]', due_at: x.at, created_at: x.at, completed_at: x.task.completedAt, outcome: x.task.outcome })
          .execute();
    }
  }
}
