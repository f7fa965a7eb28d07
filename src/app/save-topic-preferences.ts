import type { DateTime } from 'luxon';
import { recordConsent } from '../db/consent-repository.js';
import { lockLinkedContact } from '../db/link-target-repository.js';
import { setTopicOptOuts } from '../db/topic-repository.js';
import { InputError } from '../errors.js';
import type { LinkSubject } from '../security/message-links.js';
import type { Topic } from '../sequences/topics.js';
import type { AppContext } from './context.js';

export type SaveTopicsResult = { status: 'saved'; email: string; left: string[]; rejoined: string[] } | { status: 'unknown' };

/**
 * Saves which topics the person still wants (the preference page): every declared topic not in
 * `subscribed` is left. A change is recorded in the consent history (`topics_changed`, with
 * what was left and rejoined); the same form saved twice records nothing.
 */
export async function saveTopicPreferences(
  ctx: AppContext,
  req: { subject: LinkSubject; topics: readonly Topic[]; subscribed: readonly string[]; ip?: string | undefined; userAgent?: string | undefined },
  now: DateTime,
): Promise<SaveTopicsResult> {
  const ids = req.topics.map((t) => t.id);
  const unknown = req.subscribed.find((t) => !ids.includes(t));
  if (unknown !== undefined) throw new InputError(`body.topics: "${unknown}" is not a topic (known: ${ids.join(', ') || 'none'})`);
  const left = ids.filter((t) => !req.subscribed.includes(t));
  return ctx.deps.db.transaction().execute(async (tx) => {
    const contact = await lockLinkedContact(tx, req.subject);
    if (!contact) return { status: 'unknown' } as const;
    const change = await setTopicOptOuts(tx, contact.id, left, 'preferences');
    if (change.left.length + change.rejoined.length > 0) {
      await recordConsent(tx, {
        email: contact.email,
        contactId: contact.id,
        kind: 'topics_changed',
        at: now.toJSDate(),
        source: 'preferences',
        ip: req.ip,
        userAgent: req.userAgent,
        detail: { left: change.left, rejoined: change.rejoined },
      });
    }
    return { status: 'saved', email: contact.email, ...change } as const;
  });
}
