import { DateTime } from 'luxon';
import type { Contact } from './contact.js';
import type { Condition } from './schema.js';
import { countsAsEngagement } from './engagement.js';
import { matchesWhere } from './match.js';
import { addDuration } from './time-rules.js';
import type { TimeContext } from './time-types.js';
import { InternalError } from '../errors.js';

/** One past event of the contact, as conditions see it. */
export interface HistoryEntry {
  type: string;
  at: string; // ISO instant
  data: Record<string, unknown>;
  enrollmentId: string | null;
  stepId: string | null;
}

export interface ConditionScope {
  contact: Contact;
  history: readonly HistoryEntry[];
  enrollmentId: string;
  now: DateTime;
  time: TimeContext;
}

/** Evaluates the small condition language of `if` steps. Pure. */
export function evaluate(c: Condition, s: ConditionScope): boolean {
  if ('all' in c) return c.all.every((x) => evaluate(x, s));
  if ('any' in c) return c.any.some((x) => evaluate(x, s));
  if ('not' in c) return !evaluate(c.not, s);
  if ('tag' in c) return s.contact.tags.includes(c.tag);
  if ('has' in c) return s.contact[c.has] !== null && s.contact[c.has] !== '';
  if ('opened' in c) return engaged(s, 'email_opened', c.opened) || engaged(s, 'email_clicked', c.opened);
  if ('clicked' in c) return engaged(s, 'email_clicked', c.clicked);
  if ('score' in c) {
    const v = s.contact.score;
    const r = c.score;
    return (r.gte === undefined || v >= r.gte) && (r.gt === undefined || v > r.gt) && (r.lte === undefined || v <= r.lte) && (r.lt === undefined || v < r.lt);
  }
  if ('attribute' in c) {
    const v = s.contact.attributes[c.attribute];
    if (c.exists !== undefined) return (v !== undefined && v !== null) === c.exists;
    if (c.in !== undefined) return c.in.some((x) => x === v);
    return v === c.equals;
  }
  if ('event' in c) {
    const since = c.within ? s.now.minus(addDuration(s.now, c.within, s.time).diff(s.now)) : undefined;
    return s.history.some(
      (h) => h.type === c.event && countsAsEngagement(h.data) && matchesWhere(c.where, h.data) && (!since || DateTime.fromISO(h.at) >= since),
    );
  }
  const never: never = c;
  throw new InternalError(`unknown condition ${JSON.stringify(never)}`);
}

function engaged(s: ConditionScope, type: string, stepId: string): boolean {
  return s.history.some((h) => h.type === type && h.stepId === stepId && h.enrollmentId === s.enrollmentId && countsAsEngagement(h.data));
}
