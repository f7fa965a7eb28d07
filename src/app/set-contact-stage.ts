import { randomUUID } from 'node:crypto';
import type { DateTime } from 'luxon';
import { findContactByEmail } from '../db/contact-repository.js';
import { InputError, NotFoundError } from '../errors.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { Stage } from '../sequences/stage.js';
import { STAGES } from '../sequences/stage.js';
import { closest } from '../sequences/suggest.js';
import { applyEventBatch } from './apply-events.js';
import type { AppContext } from './context.js';

export interface SetStageResult {
  email: string;
  from: Stage;
  to: Stage;
  changed: boolean;
  eventId: string;
}

/**
 * A person's word on a contact's stage (sales closed the deal, or the lead is not a fit): applied
 * as a `stage_set` event through the engine, so it is in the contact's history, in stage_changes
 * with its reason, and fed to sequences as `stage_changed`. Customer and disqualified end nurture.
 */
export async function setContactStage(ctx: AppContext, o: { email: string; to: string; reason?: string | undefined }, now: DateTime): Promise<SetStageResult> {
  if (!(STAGES as readonly string[]).includes(o.to)) {
    const guess = closest(o.to, STAGES);
    throw new InputError(`--to: "${o.to}" is not a stage (${STAGES.join(', ')})${guess ? `: did you mean ${guess}?` : ''}`);
  }
  const row = await findContactByEmail(ctx.deps.db, o.email);
  if (!row) throw new NotFoundError(`no contact with email ${o.email.trim()} (emails are matched case-insensitively)`);
  const event: NurtureEvent = {
    id: `stage-set-${randomUUID()}`,
    type: 'stage_set',
    occurredAt: now.toUTC().toISO()!,
    contact: { email: row.email },
    data: { to: o.to, ...(o.reason ? { reason: o.reason } : {}) },
  };
  const [result] = await applyEventBatch(ctx, [event], now);
  const after = await findContactByEmail(ctx.deps.db, row.email);
  const to = (after?.status ?? row.status) as Stage;
  return { email: row.email, from: row.status as Stage, to, changed: result?.status === 'applied' && to !== row.status, eventId: event.id };
}
