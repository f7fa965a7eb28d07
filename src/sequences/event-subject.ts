import type { ContactIdEvent, IncomingEvent, NurtureEvent, ResolvedSubject, TouchEvent } from './event.js';
import { keepHashOf } from './event.js';

/**
 * The three ways an event names its contact (see "Subjects" in the README): by email, by contact
 * id, or by touch. Pure: the engine looks the contact up (src/engine/resolve-subjects.ts) and
 * builds the event it applies with `resolvedEvent`.
 */

/** What an event names as its contact. */
export type EventSubject = { by: 'email'; email: string } | { by: 'contact'; contactId: string } | { by: 'touch'; ref: string };

export function subjectOf(e: IncomingEvent): EventSubject {
  if ('touch' in e) return { by: 'touch', ref: e.touch.id };
  if ('id' in e.contact) return { by: 'contact', contactId: e.contact.id };
  return { by: 'email', email: e.contact.email };
}

/** The subject in words, for output: the email, `contact ID` or `touch REF`. */
export function subjectText(e: IncomingEvent): string {
  const s = subjectOf(e);
  return s.by === 'email' ? s.email : s.by === 'contact' ? `contact ${s.contactId}` : `touch ${s.ref}`;
}

/** An event whose contact the engine must look up before applying it. */
export function needsResolution(e: IncomingEvent): e is ContactIdEvent | TouchEvent {
  return 'touch' in e || 'id' in e.contact;
}

/**
 * The event as the engine applies it once its subject is found: the contact named by its email,
 * the other contact fields as given, and the subject kept (a touch subject ties the event to its
 * touch). It keeps the body hash of the event as received, so a redelivery is recognised.
 */
export function resolvedEvent(e: ContactIdEvent | TouchEvent, found: { email: string; contactId: string; touchId?: string | undefined }): NurtureEvent {
  const { id, type, occurredAt, occurredAtDefaulted, data } = e;
  const fields = 'touch' in e ? {} : (({ id: _id, ...rest }) => rest)(e.contact);
  const subject: ResolvedSubject = 'touch' in e ? { by: 'touch', touchId: found.touchId! } : { by: 'contact', contactId: found.contactId };
  const out: NurtureEvent = { id, type, occurredAt, ...(occurredAtDefaulted ? { occurredAtDefaulted } : {}), data, contact: { ...fields, email: found.email }, subject };
  return keepHashOf(out, e);
}
