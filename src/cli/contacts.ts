import type { Command } from 'commander';
import { DateTime } from 'luxon';
import type { ContactListFilter, ContactReport, ContactView, DelayReason } from '../queries/contact-timeline.js';
import { contactList, contactTimeline } from '../queries/contact-timeline.js';
import type { ReadDb } from '../queries/read-db.js';
import { STAGES } from '../sequences/stage.js';
import type { Rendered } from './format.js';
import { emit, formatAddress, formatInstant, parseChoice, parseLimit, relativeTime, table, truncate } from './format.js';
import { action, config } from './shared.js';
import { withReadDb } from '../app/composition-root.js';
import { registerManage } from './contacts-manage.js';
import { registerScore } from './contacts-score.js';
import { registerPrivacy } from './contacts-privacy.js';
import { registerConsent } from './contacts-consent.js';

/**
 * `nurture contacts show EMAIL` and `nurture contacts list`: the read models in
 * src/queries/contact-timeline.ts, as text for people or JSON.
 */

export interface ViewOptions {
  /** One clock for the whole command. */
  now: DateTime;
  /** Zone instants are printed in (default: the machine's). */
  zone?: string | undefined;
}

const DELAY_REASONS: Record<DelayReason, string> = {
  frequency_cap: 'frequency cap',
  send_window: 'send window',
  edited: 'edit',
};

export async function showContact(db: ReadDb, email: string, o: ViewOptions): Promise<Rendered<ContactReport>> {
  const data = await contactTimeline(db, email);
  return { data, text: contactText(data, o) };
}

/**
 * Instants in the operator's zone, and also in the contact's own when it differs: "the email
 * waits for 09:00" only makes sense in the zone the contact lives in.
 */
function instantFormatter(c: ContactView, o: ViewOptions, defaultZone: string): (s: string | null) => string {
  const contactZone = c.timezone ?? defaultZone;
  const viewZone = o.zone ?? DateTime.local().zoneName ?? 'UTC';
  const same = DateTime.now().setZone(contactZone).zoneName === DateTime.now().setZone(viewZone).zoneName;
  return (s) => {
    if (!s) return '-';
    const d = new Date(s);
    const mine = formatInstant(d, o.zone);
    return same ? mine : `${mine} (${DateTime.fromJSDate(d, { zone: contactZone }).toFormat('yyyy-LL-dd HH:mm')} ${contactZone})`;
  };
}

function statusLine(c: ContactView, at: (s: string | null) => string): string {
  const stage =
    c.status === 'lead'
      ? `lead since ${at(c.promotedAt)}${c.promotionReason ? ` (${c.promotionReason})` : ''}${c.timeToLead ? `; ${c.timeToLead.text} after opt-in` : ''}`
      : c.status;
  // Consent comes first: an unsubscribed contact gets no email whatever its stage says.
  if (c.unsubscribedAt) return `unsubscribed since ${at(c.unsubscribedAt)} (${stage}); no email is sent`;
  if (c.bouncedAt) return `${stage}; email bounced ${at(c.bouncedAt)}, so no email is sent`;
  if (c.pausedAt) return `${stage}; PAUSED since ${at(c.pausedAt)}: nothing goes out until nurture contacts resume`;
  return stage;
}

function contactText(r: ContactReport, o: ViewOptions & { defaultZone?: string }): string {
  const c = r.contact;
  const at = instantFormatter(c, o, o.defaultZone ?? 'UTC');
  const lines: string[] = [c.name ? `${c.name} <${c.email}>` : c.email];
  const field = (label: string, value: string) => lines.push(`  ${label.padEnd(13)}${value}`);
  field('status', statusLine(c, at));
  field('opted in', at(c.optedInAt));
  field('phone', c.phone ?? '-');
  field('timezone', c.timezone ?? `- (default zone ${o.defaultZone ?? 'UTC'})`);
  field('address', formatAddress(c.address) ?? '-');
  field('tags', c.tags.length ? c.tags.join(', ') : '-');
  const attrs = Object.entries(c.attributes);
  field('attributes', attrs.length ? attrs.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '-');
  field('score', String(c.score));
  // By address: it holds even for a contact created after the address was suppressed.
  if (r.suppressions.length) {
    field('suppressed', `${r.suppressions.map((x) => `${x.reason.replace('_', ' ')} (${x.source}, ${at(x.at)})`).join(', ')}; no email is sent`);
  }
  if (r.topicsLeft.length) field('topics left', r.topicsLeft.join(', '));

  if (r.lifecycle.length) {
    lines.push('', 'Lifecycle');
    for (const ch of r.lifecycle) {
      const what = ch.kind === 'stage' ? `${ch.from} -> ${ch.to}` : ch.kind;
      lines.push(`  ${at(ch.at)}  ${what} (${ch.reason})${ch.eventId ? ` event ${ch.eventId}` : ''}`);
    }
  }

  lines.push('', `Enrollments (${r.enrollments.length})`);
  for (const e of r.enrollments) {
    const reason = e.exitReason && e.exitReason !== e.status ? ` (${e.exitReason})` : '';
    const parts = [e.status === 'active' ? (e.heldAt ? `held since ${at(e.heldAt)} (paused)` : 'active') : `${e.status}${reason}`];
    if (e.stepId) parts.push(`${e.status === 'active' ? 'at' : 'last'} step ${e.stepId}`);
    if (e.nextWakeAt) parts.push(`next wake-up ${at(e.nextWakeAt)} (${relativeTime(new Date(e.nextWakeAt), o.now)})`);
    parts.push(`enrolled ${at(e.enrolledAt)}`);
    if (e.endedAt) parts.push(`ended ${at(e.endedAt)}`);
    lines.push(`  ${e.sequenceId}@${e.sequenceVersion.slice(0, 8)}: ${parts.join(', ')}`);
    if (e.delay) lines.push(`    delayed to ${at(e.delay.until)} (${relativeTime(new Date(e.delay.until), o.now)}) by ${DELAY_REASONS[e.delay.reason]}`);
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

export interface ContactListOptions extends ViewOptions, ContactListFilter {}

export async function listContactsView(db: ReadDb, o: ContactListOptions): Promise<Rendered<ContactView[]>> {
  const data = await contactList(db, { status: o.status, limit: o.limit ?? 50 });
  const at = (s: string | null) => (s ? formatInstant(new Date(s), o.zone) : '-');
  const rows = data.map((c) => [
    c.email,
    c.name ?? '-',
    c.unsubscribedAt ? `unsubscribed (${c.status})` : c.status + (c.bouncedAt ? ' (bounced)' : ''),
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
  registerScore(contacts);
  registerPrivacy(contacts);
  registerConsent(contacts);
  contacts
    .command('show')
    .description("everything about one contact, with times in your zone and the contact's")
    .argument('<email>', 'the contact (matched case-insensitively)')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { json?: boolean }) => {
        const cfg = config();
        const data = await withReadDb(cfg, (db) => contactTimeline(db, email));
        emit({ data, text: contactText(data, { now: DateTime.now(), defaultZone: cfg.defaultZone }) }, o.json);
      }),
    );
  contacts
    .command('list')
    .description('contacts, latest promotion or opt-in first')
    .option('--status <stage>', STAGES.join(', '))
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(
      action(async (o: { status?: string; limit?: string; json?: boolean }) => {
        const status = parseChoice('--status', o.status, STAGES);
        const limit = parseLimit(o.limit, 50);
        const result = await withReadDb(config(), (db) => listContactsView(db, { now: DateTime.now(), status, limit }));
        emit(result, o.json);
      }),
    );
}
