import type { DateTime } from 'luxon';
import { toContact } from '../db/contact-repository.js';
import type { EngineDeps } from './engine-deps.js';
import { templateOfVersion } from './published-templates.js';
import { renderTouch } from './render-touch.js';
import { isConfirmationTouch } from './confirmation-mail.js';

export type ViewedMessage = { status: 'found'; subject: string; html: string } | { status: 'not_sent' | 'unknown' };

/**
 * An email as it was sent, for its "view in the browser" link: rendered again from the version
 * it went out with, for the contact as the store holds it now, without tracking (a view is not
 * an open). Only sent emails are shown: a link cannot preview one that was never mailed.
 */
export async function viewTouch(deps: EngineDeps, touchId: string, now: DateTime): Promise<ViewedMessage> {
  const touch = await deps.db.selectFrom('touches').selectAll().where('id', '=', touchId).executeTakeFirst();
  // A confirmation email's link is the person's own to click, not a page to show again.
  if (!touch || touch.kind !== 'email' || !touch.template || isConfirmationTouch(touch)) return { status: 'unknown' };
  if (touch.status !== 'sent') return { status: 'not_sent' };
  const row = await deps.db.selectFrom('contacts').selectAll().where('id', '=', touch.contact_id).executeTakeFirst();
  if (!row) return { status: 'unknown' };
  const enrollment = touch.enrollment_id ? await deps.db.selectFrom('enrollments').select('sequence_version').where('id', '=', touch.enrollment_id).executeTakeFirst() : undefined;
  const version = enrollment?.sequence_version;
  const template = await templateOfVersion(deps, deps.db, { sequenceId: touch.sequence_id, version, name: touch.template });
  const rendered = await renderTouch(deps, deps.db, template, { contact: toContact(row), touch, version, now, tracking: false });
  return { status: 'found', subject: rendered.subject, html: rendered.html };
}
