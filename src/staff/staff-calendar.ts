import ical from 'ical-generator';
import type { DateTime } from 'luxon';
import type { StaffUser } from './directory.js';

/**
 * A staff user's calendar feed (.ics): each open call task of theirs as a 15-minute event at its
 * due time, so the day's calls sit beside their meetings. Pure: `now` stamps the feed.
 */

export interface CalendarTask {
  id: number;
  title: string;
  priority: 'normal' | 'high';
  dueAt: Date;
  note: string | null;
  phone: string | null;
  contactEmail: string;
  contactName: string | null;
}

/** How long a call event lasts in the calendar: a slot to block, not a promise about the call. */
export const CALL_EVENT_MINUTES = 15;

export function calendarFeed(user: Pick<StaffUser, 'email' | 'name'>, tasks: readonly CalendarTask[], now: DateTime): string {
  // Times in UTC (…Z): every calendar app shows them in its own zone. A calendar-wide TZID would
  // need a VTIMEZONE block per zone, and without one ical-generator writes floating times.
  const cal = ical({ name: `Nurture calls: ${user.name}`, prodId: { company: 'Nurture', product: 'staff-calls', language: 'EN' }, ttl: 15 * 60 });
  for (const t of tasks) {
    const who = t.contactName ? `${t.contactName} <${t.contactEmail}>` : t.contactEmail;
    cal.createEvent({
      // Stable across fetches, so a calendar moves the event when the due time changes.
      id: `nurture-task-${t.id}`,
      start: t.dueAt,
      end: new Date(t.dueAt.getTime() + CALL_EVENT_MINUTES * 60_000),
      stamp: now.toJSDate(),
      summary: `${t.priority === 'high' ? '[HIGH] ' : ''}${t.title}`,
      description: [`Task #${t.id}: call ${who}`, t.phone ? `Phone: ${t.phone}` : 'No phone number on file', t.note ?? '', `Done: nurture tasks done ${t.id} --outcome ...`]
        .filter(Boolean)
        .join('\n'),
    });
  }
  return cal.toString();
}
