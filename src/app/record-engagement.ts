import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { markClicked, trackedTouch } from '../db/touch-repository.js';
import type { TrackedTouch } from '../db/touch-repository.js';
import { clickOf, openOf } from '../security/tracking-links.js';
import { scannerReason } from '../sequences/engagement.js';
import { parseEvent } from '../sequences/event.js';
import type { AppContext } from './context.js';
import type { EventIntake } from './event-intake.js';

/**
 * A followed tracked link or a loaded open pixel, turned into an `email_clicked` or
 * `email_opened` event about the contact the email went to, tied to the touch (`data.touchId`).
 * Hits that look like a link scanner's are recorded with `data.suspectedScanner: true`, which
 * the core does not count as engagement.
 *
 * The person is sent on whatever happens to the event (a touch since deleted, the queue down):
 * the redirect goes where the signed token says; the failure is logged.
 */
export type ClickOutcome = { ok: true; target: string; recorded: boolean } | { ok: false };
export type OpenOutcome = { ok: true; recorded: boolean } | { ok: false };

export async function recordClick(ctx: AppContext, intake: EventIntake, token: string, now: DateTime): Promise<ClickOutcome> {
  const link = clickOf(ctx.deps.links, token);
  if (!link) return { ok: false };
  let recorded = false;
  try {
    const touch = await markClicked(ctx.deps.db, link.touchId, now.toJSDate());
    recorded = await record(ctx, intake, touch, now, 'email_clicked', link.touchId, { url: link.url, link: link.index });
  } catch (err) {
    ctx.log.error({ err: (err as Error).message, touchId: link.touchId }, 'click not recorded (the database did not answer); the person is sent on');
  }
  return { ok: true, target: link.url, recorded };
}

export async function recordOpen(ctx: AppContext, intake: EventIntake, token: string, now: DateTime): Promise<OpenOutcome> {
  const open = openOf(ctx.deps.links, token);
  if (!open) return { ok: false };
  try {
    const touch = await trackedTouch(ctx.deps.db, open.touchId);
    return { ok: true, recorded: await record(ctx, intake, touch, now, 'email_opened', open.touchId, {}) };
  } catch (err) {
    ctx.log.error({ err: (err as Error).message, touchId: open.touchId }, 'open not recorded (the database did not answer)');
    return { ok: true, recorded: false };
  }
}

async function record(
  ctx: AppContext,
  intake: EventIntake,
  touch: TrackedTouch | undefined,
  now: DateTime,
  type: 'email_clicked' | 'email_opened',
  touchId: string,
  data: Record<string, unknown>,
): Promise<boolean> {
  if (!touch) {
    ctx.log.warn({ touchId, type }, 'tracked link of an email that is no longer stored: not recorded');
    return false;
  }
  const reason = scannerReason({
    sentAt: touch.sentAt ? DateTime.fromJSDate(new Date(touch.sentAt)) : undefined,
    previousHitAt: touch.previousClickAt ? DateTime.fromJSDate(new Date(touch.previousClickAt)) : undefined,
    now,
  });
  const parsed = parseEvent(
    {
      id: `${type === 'email_clicked' ? 'click' : 'open'}-${randomUUID()}`,
      type,
      occurredAt: now.toUTC().toISO(),
      contact: { email: touch.email },
      data: { ...data, touchId, ...(reason ? { suspectedScanner: true, scannerReason: reason } : {}) },
    },
    { now },
  );
  if (!parsed.ok) {
    ctx.log.error({ touchId, type, field: parsed.field, reason: parsed.reason }, 'tracking event could not be built: not recorded');
    return false;
  }
  try {
    await intake.accept([parsed.event]);
    return true;
  } catch (err) {
    ctx.log.error({ touchId, type, err: (err as Error).message }, 'tracking event could not be queued: not recorded');
    return false;
  }
}
