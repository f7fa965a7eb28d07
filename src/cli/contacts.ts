import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import type { ContactRow } from '../db/contact-repository.js';
import { findContactByEmail, listContacts } from '../db/contact-repository.js';
import { enrollmentsOfContact, stateOf } from '../db/enrollment-repository.js';
import { contactEvents } from '../db/event-repository.js';
import type { Database } from '../db/schema.js';
import { listTasks } from '../db/task-repository.js';
import { touchesOfContact } from '../db/touch-repository.js';
import { NotFoundError } from '../errors.js';
import type { Pending } from '../sequences/advance.js';
import type { Rendered } from './format.js';
import { emit, formatAddress, formatInstant, humanDuration, iso, parseChoice, parseLimit, relativeTime, table, truncate } from './format.js';
import { action, config } from './shared.js';
import { withStore } from './with-store.js';
import { registerManage } from './contacts-manage.js';

/**
 * `nurture contacts show EMAIL` and `nurture contacts list`. Each command's core takes the
 * database and options and returns `{ data, text }`: the JSON document and the human text.
 */

export interface ViewOptions {
  /** One clock for the whole command. */
  now: DateTime;
  /** Zone instants are printed in (default: the machine's). */
  zone?: string | undefined;
}

const DELAY_REASONS: Record<Extract<Pending, { kind: 'deferred' }>['reason'], string> = {
  frequency_cap: 'frequency cap',
  send_window: 'send window',
  edited: 'edit',
};

export interface ContactView {
  id: string;
  email: string;
  name: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  timezone: string | null;
  address: Record<string, unknown> | null;
  tags: string[];
  attributes: Record<string, unknown>;
  score: number;
  status: 'subscriber' | 'lead';
  optedInAt: string | null;
  promotedAt: string | null;
  promotionReason: string | null;
  /** Opt-in to promotion, for leads that opted in first. */
  timeToLead: { seconds: number; text: string } | null;
  unsubscribedAt: string | null;
  bouncedAt: string | null;
  createdAt: string;
}

export interface ContactReport {
  contact: ContactView;
  enrollments: {
    id: string;
    sequenceId: string;
    sequenceVersion: string;
    status: string;
    exitReason: string | null;
    stepId: string | null;
    nextWakeAt: string | null;
    enrolledAt: string;
    endedAt: string | null;
    /** The next touch is held back: until when, and why. */
    delay: { until: string; reason: 'frequency_cap' | 'send_window' | 'edited'; text: string } | null;
  }[];
  touches: {
    id: string;
    sequenceId: string | null;
    stepId: string;
    kind: string;
    status: string;
    template: string | null;
    dueAt: string;
    sentAt: string | null;
    subject: string | null;
    messageId: string | null;
    attempts: number;
    inDoubt: boolean;
    error: string | null;
  }[];
  tasks: { id: number; kind: string; priority: string; status: string; title: string; dueAt: string; completedAt: string | null; outcome: string | null }[];
  events: { id: string; type: string; occurredAt: string; receivedAt: string; data: Record<string, unknown>; touchId: string | null }[];
}

export function contactView(r: ContactRow): ContactView {
  const ttl = r.status === 'lead' && r.opted_in_at && r.promoted_at && r.promoted_at >= r.opted_in_at ? (r.promoted_at.getTime() - r.opted_in_at.getTime()) / 1000 : null;
  return {
    id: r.id,
    email: r.email,
    name: [r.first_name, r.last_name].filter(Boolean).join(' ') || null,
    firstName: r.first_name,
    lastName: r.last_name,
    phone: r.phone,
    timezone: r.timezone,
    address: r.address ?? null,
    tags: r.tags ?? [],
    attributes: r.attributes ?? {},
    score: r.score,
    status: r.status,
    optedInAt: iso(r.opted_in_at),
    promotedAt: iso(r.promoted_at),
    promotionReason: r.promotion_reason,
    timeToLead: ttl === null ? null : { seconds: ttl, text: humanDuration(ttl * 1000) },
    unsubscribedAt: iso(r.unsubscribed_at),
    bouncedAt: iso(r.bounced_at),
    createdAt: r.created_at.toISOString(),
  };
}

export async function showContact(db: Kysely<Database>, email: string, o: ViewOptions): Promise<Rendered<ContactReport>> {
  const row = await requireContact(db, email);
  const enrollments = (await enrollmentsOfContact(db, row.id)).map((e) => {
    const pending = e.status === 'active' ? stateOf(e).pending : null;
    const delay =
      pending?.kind === 'deferred'
        ? {
            until: new Date(pending.until).toISOString(),
            reason: pending.reason,
            text: `delayed to ${formatInstant(new Date(pending.until), o.zone)} (${relativeTime(new Date(pending.until), o.now)}) by ${DELAY_REASONS[pending.reason]}`,
          }
        : null;
    return {
      id: e.id,
      sequenceId: e.sequence_id,
      sequenceVersion: e.sequence_version,
      status: e.status,
      exitReason: e.exit_reason,
      stepId: e.step_id,
      nextWakeAt: iso(e.next_wake_at),
      enrolledAt: e.enrolled_at.toISOString(),
      endedAt: iso(e.ended_at),
      delay,
    };
  });
  // Chronological by due time (touches made in one transaction share their created_at).
  const touchRows = (await touchesOfContact(db, row.id)).sort((x, y) => x.due_at.getTime() - y.due_at.getTime() || x.created_at.getTime() - y.created_at.getTime());
  const touches = touchRows.map((t) => ({
    id: t.id,
    sequenceId: t.sequence_id,
    stepId: t.step_id,
    kind: t.kind,
    status: t.status,
    template: t.template,
    dueAt: t.due_at.toISOString(),
    sentAt: iso(t.sent_at),
    subject: t.subject,
    messageId: t.message_id,
    attempts: t.attempts,
    inDoubt: t.in_doubt,
    error: t.error,
  }));
  const tasks = (await listTasks(db, { contactId: row.id, status: 'all', limit: 1000 })).map((t) => ({
    id: t.id,
    kind: t.kind,
    priority: t.priority,
    status: t.status,
    title: t.title,
    dueAt: t.due_at.toISOString(),
    completedAt: iso(t.completed_at),
    outcome: t.outcome,
  }));
  const events = (await contactEvents(db, row.id, 20)).map((e) => ({
    id: e.id,
    type: e.type,
    occurredAt: e.occurred_at.toISOString(),
    receivedAt: e.received_at.toISOString(),
    data: e.data,
    touchId: e.touch_id,
  }));
  const data: ContactReport = { contact: contactView(row), enrollments, touches, tasks, events };
  return { data, text: contactText(data, o) };
}

function contactText(r: ContactReport, o: ViewOptions): string {
  const c = r.contact;
  const at = (s: string | null) => (s ? formatInstant(new Date(s), o.zone) : '-');
  const lines: string[] = [c.name ? `${c.name} <${c.email}>` : c.email];
  const field = (label: string, value: string) => lines.push(`  ${label.padEnd(13)}${value}`);
  if (c.status === 'lead') {
    const reason = c.promotionReason ? ` (${c.promotionReason})` : '';
    const ttl = c.timeToLead ? `; ${c.timeToLead.text} after opt-in` : '';
    field('status', `lead since ${at(c.promotedAt)}${reason}${ttl}`);
  } else {
    field('status', 'subscriber');
  }
  field('opted in', at(c.optedInAt));
  if (c.unsubscribedAt) field('unsubscribed', at(c.unsubscribedAt));
  if (c.bouncedAt) field('bounced', at(c.bouncedAt));
  field('phone', c.phone ?? '-');
  field('timezone', c.timezone ?? '- (default zone)');
  field('address', formatAddress(c.address) ?? '-');
  field('tags', c.tags.length ? c.tags.join(', ') : '-');
  const attrs = Object.entries(c.attributes);
  field('attributes', attrs.length ? attrs.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '-');
  field('score', String(c.score));

  lines.push('', `Enrollments (${r.enrollments.length})`);
  for (const e of r.enrollments) {
    const parts = [e.status === 'active' ? 'active' : `${e.status}${e.exitReason ? ` (${e.exitReason})` : ''}`];
    if (e.stepId) parts.push(`${e.status === 'active' ? 'at' : 'last'} step ${e.stepId}`);
    if (e.nextWakeAt) parts.push(`next wake-up ${at(e.nextWakeAt)} (${relativeTime(new Date(e.nextWakeAt), o.now)})`);
    parts.push(`enrolled ${at(e.enrolledAt)}`);
    if (e.endedAt) parts.push(`ended ${at(e.endedAt)}`);
    lines.push(`  ${e.sequenceId}@${e.sequenceVersion.slice(0, 8)}: ${parts.join(', ')}`);
    if (e.delay) lines.push(`    ${e.delay.text}`);
  }

  lines.push('', `Touches (${r.touches.length})`);
  if (r.touches.length) {
    lines.push(
      ...table(
        ['STEP', 'KIND', 'STATUS', 'DUE', 'SENT', 'SUBJECT', 'MESSAGE ID', 'ATTEMPTS', ''],
        r.touches.map((t) => [
          t.stepId,
          t.kind,
          t.status,
          at(t.dueAt),
          at(t.sentAt),
          truncate(t.subject ?? '-', 40),
          t.messageId ?? '-',
          String(t.attempts),
          [t.inDoubt ? 'IN DOUBT' : '', t.error ?? ''].filter(Boolean).join(' '),
        ]),
      ),
    );
  }

  lines.push('', `Tasks (${r.tasks.length})`);
  if (r.tasks.length) {
    lines.push(
      ...table(
        ['ID', 'KIND', 'PRIORITY', 'STATUS', 'DUE', 'OUTCOME', 'TITLE'],
        r.tasks.map((t) => [String(t.id), t.kind, t.priority, t.status, at(t.dueAt), t.outcome ?? '-', truncate(t.title, 60)]),
      ),
    );
  }

  lines.push('', `Last events (${r.events.length}, newest first)`);
  if (r.events.length) {
    lines.push(
      ...table(
        ['OCCURRED', 'TYPE', 'EVENT ID', 'DATA'],
        r.events.map((e) => [at(e.occurredAt), e.type, e.id, truncate(JSON.stringify(e.data), 80)]),
      ),
    );
  }
  return lines.join('\n');
}

export interface ContactListOptions extends ViewOptions {
  status?: 'subscriber' | 'lead' | undefined;
  limit?: number | undefined;
}

export async function listContactsView(db: Kysely<Database>, o: ContactListOptions): Promise<Rendered<ContactView[]>> {
  const data = (await listContacts(db, { status: o.status, limit: o.limit ?? 50 })).map(contactView);
  const at = (s: string | null) => (s ? formatInstant(new Date(s), o.zone) : '-');
  const rows = data.map((c) => [
    c.email,
    c.name ?? '-',
    c.status + (c.unsubscribedAt ? ' (unsubscribed)' : c.bouncedAt ? ' (bounced)' : ''),
    at(c.optedInAt),
    at(c.promotedAt),
    c.promotionReason ?? '-',
    c.timeToLead?.text ?? '-',
  ]);
  const text =
    data.length === 0
      ? `no ${o.status ? `${o.status}s` : 'contacts'} yet`
      : [...table(['EMAIL', 'NAME', 'STATUS', 'OPTED IN', 'PROMOTED', 'REASON', 'TIME TO LEAD'], rows, ''), '', `${data.length} contact(s)`].join('\n');
  return { data, text };
}

export function register(program: Command): void {
  const contacts = program.command('contacts').description('look up contacts: their sequences, touches, tasks and events');
  registerManage(contacts);
  contacts
    .command('show')
    .description('everything about one contact')
    .argument('<email>', 'the contact (matched case-insensitively)')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { json?: boolean }) => {
        const result = await withStore(config(), (store) => showContact(store.db, email, { now: DateTime.now() }));
        emit(result, o.json);
      }),
    );
  contacts
    .command('list')
    .description('contacts, latest promotion or opt-in first')
    .option('--status <status>', 'lead or subscriber')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(
      action(async (o: { status?: string; limit?: string; json?: boolean }) => {
        const status = parseChoice('--status', o.status, ['lead', 'subscriber'] as const);
        const limit = parseLimit(o.limit, 50);
        const result = await withStore(config(), (store) => listContactsView(store.db, { now: DateTime.now(), status, limit }));
        emit(result, o.json);
      }),
    );
}

export async function requireContact(db: Kysely<Database>, email: string): Promise<ContactRow> {
  const row = await findContactByEmail(db, email);
  if (!row) throw new NotFoundError(`no contact with email ${email.trim()} (emails are matched case-insensitively)`);
  return row;
}
