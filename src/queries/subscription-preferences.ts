import { findLinkedContact } from '../db/link-target-repository.js';
import { suppressionsOf } from '../db/suppression-repository.js';
import { topicOptOutsOf } from '../db/topic-repository.js';
import type { LinkSubject } from '../security/message-links.js';
import type { Topic } from '../sequences/topics.js';
import type { ReadDb } from './read-db.js';

export interface SubscriptionPreferences {
  email: string;
  /** On the suppression list because the person unsubscribed (a resubscribe lifts it). */
  unsubscribed: boolean;
  /** Other reasons the address gets no email (a hard bounce, a complaint): not the person's to lift. */
  blocked: string[];
  /** Every declared topic, and whether the contact still gets it. */
  topics: { id: string; name: string; description: string | undefined; subscribed: boolean }[];
}

/** What the preference page shows for the contact a signed link is about; undefined when they are gone. */
export async function subscriptionPreferences(db: ReadDb, subject: LinkSubject, topics: readonly Topic[]): Promise<SubscriptionPreferences | undefined> {
  const contact = await findLinkedContact(db, subject);
  if (!contact) return undefined;
  const suppressions = await suppressionsOf(db, contact.email);
  const left = new Set(await topicOptOutsOf(db, contact.id));
  return {
    email: contact.email,
    unsubscribed: suppressions.some((s) => s.reason === 'unsubscribed') || contact.unsubscribed_at !== null,
    blocked: suppressions.filter((s) => s.reason !== 'unsubscribed').map((s) => s.reason),
    topics: topics.map((t) => ({ id: t.id, name: t.name, description: t.description, subscribed: !left.has(t.id) })),
  };
}
