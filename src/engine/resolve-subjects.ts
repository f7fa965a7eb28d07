import type { Kysely } from 'kysely';
import { contactEmailsByIds } from '../db/contact-repository.js';
import type { Database } from '../db/schema.js';
import { findTouchByRef } from '../db/touch-repository.js';
import type { IncomingEvent, NurtureEvent } from '../sequences/event.js';
import { quote } from '../sequences/event.js';
import { needsResolution, resolvedEvent } from '../sequences/event-subject.js';

export type Resolution = { ok: true; event: NurtureEvent } | { ok: false; field: string; reason: string };

/**
 * Finds the contact of each event that names it by contact id or by touch, in the transaction
 * that applies it. An id that names nothing is a rejection with its reason, for the caller to
 * record like any other bad event; events named by email pass through as they are.
 */
export async function resolveSubjects(tx: Kysely<Database>, events: readonly IncomingEvent[], indices: readonly number[]): Promise<Map<number, Resolution>> {
  const out = new Map<number, Resolution>();
  const contactIds = new Set<string>();
  for (const i of indices) {
    const e = events[i]!;
    if (needsResolution(e) && !('touch' in e)) contactIds.add(e.contact.id);
  }
  const emails = await contactEmailsByIds(tx, [...contactIds]);
  for (const i of indices) {
    const e = events[i]!;
    if (!needsResolution(e)) {
      out.set(i, { ok: true, event: e });
    } else if ('touch' in e) {
      const touch = await findTouchByRef(tx, e.touch.id);
      const email = touch ? (await contactEmailsByIds(tx, [touch.contact_id])).get(touch.contact_id) : undefined;
      out.set(
        i,
        touch && email
          ? { ok: true, event: resolvedEvent(e, { email, contactId: touch.contact_id, touchId: touch.id }) }
          : { ok: false, field: 'touch.id', reason: `touch.id: ${quote(e.touch.id)} is neither the id nor the Message-ID of a touch Nurture made; the event was not applied` },
      );
    } else {
      const email = emails.get(e.contact.id);
      out.set(
        i,
        email
          ? { ok: true, event: resolvedEvent(e, { email, contactId: e.contact.id }) }
          : { ok: false, field: 'contact.id', reason: `contact.id: no contact has the id ${quote(e.contact.id)} (never created, or erased); the event was not applied` },
      );
    }
  }
  return out;
}
