import { DateTime } from 'luxon';
import type { StaffUser, TeamDirectory } from './directory.js';
import { holidaysOf, periodsOn } from './working-hours.js';

/**
 * The daily digest of a staff user: when it is due (the start of their working day, in their
 * zone) and what it says (their due and overdue tasks). Pure: `now` is passed in.
 */

export interface DigestSlot {
  /** The user's local date (yyyy-mm-dd): one digest each. */
  localDate: string;
  /** When the user's working day starts (their first working period). */
  dayStart: DateTime;
  /** Tasks due before this instant (the end of the user's local day) are in the digest. */
  dayEnd: Date;
}

/**
 * The digest due at `now`: from the start of the user's working day until its last period ends.
 * None on a day off or a holiday, before the day starts, or after it ended (a process that was
 * down all day does not send yesterday's digest in the evening).
 */
export function digestSlot(dir: TeamDirectory, user: StaffUser, now: DateTime): DigestSlot | undefined {
  const local = now.setZone(user.zone);
  const periods = periodsOn(user, holidaysOf(dir, user), local);
  const first = periods[0];
  const last = periods[periods.length - 1];
  if (!first || !last || local < first.start || local >= last.end) return undefined;
  return { localDate: local.toISODate()!, dayStart: first.start, dayEnd: local.startOf('day').plus({ days: 1 }).toJSDate() };
}

export interface DigestTask {
  id: number;
  kind: string;
  priority: 'normal' | 'high';
  title: string;
  dueAt: Date;
  /** null: unclaimed, in `team`'s queue. */
  assignee: string | null;
  team: string | null;
  contactEmail: string;
  phone: string | null;
}

export interface DigestMessage {
  subject: string;
  text: string;
  html: string;
  overdue: number;
  dueToday: number;
}

// Not src/http's escapeHtml: the core imports nothing from the HTTP layer.
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function line(t: DigestTask, user: StaffUser, now: DateTime): string {
  const due = DateTime.fromJSDate(t.dueAt, { zone: user.zone });
  const when = due.hasSame(now.setZone(user.zone), 'day') ? due.toFormat('HH:mm') : due.toFormat('ccc d LLL HH:mm');
  const queue = t.assignee === null && t.team ? ` [${t.team} queue, unclaimed]` : '';
  const reach = t.kind === 'call' && t.phone ? `, ${t.phone}` : '';
  return `#${t.id} ${t.kind}${t.priority === 'high' ? ' HIGH' : ''} ${when}: ${t.title} (${t.contactEmail}${reach})${queue}`;
}

/** The digest email: overdue first, then what is due today, each soonest first. */
export function digestMessage(user: StaffUser, slot: DigestSlot, tasks: readonly DigestTask[], now: DateTime): DigestMessage {
  const sorted = [...tasks].sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.id - b.id);
  const overdue = sorted.filter((t) => t.dueAt.getTime() < now.toMillis());
  const today = sorted.filter((t) => t.dueAt.getTime() >= now.toMillis());
  const day = DateTime.fromISO(slot.localDate, { zone: user.zone }).toFormat('cccc d LLLL');
  const count = (n: number, what: string) => `${n} ${what}`;
  const subject = `Your tasks for ${day}: ${[overdue.length ? count(overdue.length, 'overdue') : '', count(today.length, 'due today')].filter(Boolean).join(', ')}`;
  const sections: [string, DigestTask[]][] = [
    ['Overdue', overdue],
    ['Due today', today],
  ];
  const text = [
    `Good morning ${user.name},`,
    '',
    ...sections.flatMap(([title, list]) => (list.length ? [`${title} (${list.length})`, ...list.map((t) => `  ${line(t, user, now)}`), ''] : [])),
    'See a task with: nurture tasks show ID',
    '',
  ].join('\n');
  const html = [
    `<p>Good morning ${escape(user.name)},</p>`,
    ...sections.flatMap(([title, list]) =>
      list.length ? [`<h3>${escape(title)} (${list.length})</h3>`, '<ul>', ...list.map((t) => `<li>${escape(line(t, user, now))}</li>`), '</ul>'] : [],
    ),
    '<p>See a task with: <code>nurture tasks show ID</code></p>',
  ].join('\n');
  return { subject, text, html, overdue: overdue.length, dueToday: today.length };
}
