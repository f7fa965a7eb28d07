import type { MessageLinks } from '../security/message-links.js';
import type { TeamDirectory } from '../staff/directory.js';
import { findUser } from '../staff/directory.js';
import { NotFoundError } from '../errors.js';

/** The signed token purpose of a staff user's calendar feed (GET /ics/TOKEN.ics). */
export const STAFF_CALENDAR_PURPOSE = 'staff_calendar' as const;

/**
 * The address of a staff user's calendar feed. The token signs the user's email: whoever has the
 * URL reads that user's calls, so it is handed to the user alone; rotating NURTURE_SECRET (or
 * removing the user from team.yaml) ends every URL given out.
 */
export function staffCalendarUrl(links: MessageLinks, dir: TeamDirectory, email: string): string {
  const user = findUser(dir, email);
  if (!user) throw new NotFoundError(`${email} is not a user of ${dir.file}`);
  return links.url('ics', STAFF_CALENDAR_PURPOSE, user.email, '.ics');
}

/** The staff user a calendar token names, or undefined for a bad token or a user no longer in the directory. */
export function staffCalendarUser(links: MessageLinks, dir: TeamDirectory | undefined, token: string) {
  if (!dir) return undefined;
  const email = links.signer.verify(STAFF_CALENDAR_PURPOSE, token.endsWith('.ics') ? token.slice(0, -'.ics'.length) : token);
  return email === undefined ? undefined : findUser(dir, email);
}
