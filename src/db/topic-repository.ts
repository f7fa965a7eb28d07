import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The topics a contact left (topics.yaml names), sorted. */
export async function topicOptOutsOf(db: Kysely<Database>, contactId: string): Promise<string[]> {
  const rows = await db.selectFrom('topic_opt_outs').select('topic').where('contact_id', '=', contactId).orderBy('topic').execute();
  return rows.map((r) => r.topic);
}

/** Whether the contact left this topic. */
export async function hasLeftTopic(db: Kysely<Database>, contactId: string, topic: string): Promise<boolean> {
  const row = await db.selectFrom('topic_opt_outs').select('topic').where('contact_id', '=', contactId).where('topic', '=', topic).executeTakeFirst();
  return row !== undefined;
}

/**
 * Makes the contact's opt-outs exactly `left`; returns the topics left and rejoined by this call
 * (both empty when nothing changed, e.g. the same form posted twice).
 */
export async function setTopicOptOuts(
  db: Kysely<Database>,
  contactId: string,
  left: readonly string[],
  source: string,
): Promise<{ left: string[]; rejoined: string[] }> {
  const before = new Set(await topicOptOutsOf(db, contactId));
  const wanted = new Set(left);
  const newlyLeft = [...wanted].filter((t) => !before.has(t)).sort();
  const rejoined = [...before].filter((t) => !wanted.has(t)).sort();
  if (newlyLeft.length > 0) {
    await db
      .insertInto('topic_opt_outs')
      .values(newlyLeft.map((topic) => ({ contact_id: contactId, topic, source })))
      .onConflict((oc) => oc.columns(['contact_id', 'topic']).doNothing())
      .execute();
  }
  if (rejoined.length > 0) {
    await db.deleteFrom('topic_opt_outs').where('contact_id', '=', contactId).where('topic', 'in', rejoined).execute();
  }
  return { left: newlyLeft, rejoined };
}

/** The topics each of these contacts left (contacts that left none are absent). */
export async function topicOptOutsOfContacts(db: Kysely<Database>, contactIds: readonly string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (contactIds.length === 0) return out;
  const rows = await db.selectFrom('topic_opt_outs').select(['contact_id', 'topic']).where('contact_id', 'in', [...contactIds]).execute();
  for (const r of rows) out.set(r.contact_id, (out.get(r.contact_id) ?? new Set()).add(r.topic));
  return out;
}
