import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { applyEventBatch } from '../../src/app/apply-events.js';
import { setContactStage } from '../../src/app/set-contact-stage.js';
import { NotFoundError, InputError } from '../../src/errors.js';
import { appContextFor } from '../support/engine.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/** A person's word on a stage, through the engine: history kept, nurture ended. */
const NURTURE = `
id: nurture
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 30 days
  - email: guide
`;

describe('setting a stage by hand', () => {
  const f = useEngineFixture('postgres', [NURTURE]);
  const T0 = DateTime.fromISO('2026-12-02T10:00:00Z', { zone: 'utc' });

  it('makes a customer: the change is kept with its reason, nurture ends, the unsent email is cancelled', async () => {
    const ctx = appContextFor(f.deps);
    await applyEventBatch(ctx, [{ id: 'o-1', type: 'opt_in', occurredAt: T0.toISO()!, contact: { email: 'cus@example.com' }, data: {} }], T0);
    const r = await setContactStage(ctx, { email: 'Cus@Example.com', to: 'customer', reason: 'signed the annual plan' }, T0.plus({ days: 2 }));
    expect(r).toMatchObject({ email: 'cus@example.com', from: 'subscriber', to: 'customer', changed: true });

    const db = f.store.db;
    const contact = await db.selectFrom('contacts').selectAll().where('email', '=', 'cus@example.com').executeTakeFirstOrThrow();
    expect(contact.status).toBe('customer');
    const changes = await db.selectFrom('stage_changes').select(['from_stage', 'to_stage', 'reason', 'event_id']).where('contact_id', '=', contact.id).where('kind', '=', 'stage').execute();
    expect(changes).toEqual([{ from_stage: 'subscriber', to_stage: 'customer', reason: 'set: signed the annual plan', event_id: r.eventId }]);
    const enrollments = await db.selectFrom('enrollments').select(['sequence_id', 'status', 'exit_reason']).where('contact_id', '=', contact.id).orderBy('sequence_id').execute();
    expect(enrollments).toEqual([{ sequence_id: 'nurture', status: 'exited', exit_reason: 'customer' }]);
    const emails = await db.selectFrom('touches').select(['step_id', 'status']).where('contact_id', '=', contact.id).execute();
    expect(emails).toEqual([{ step_id: 'welcome', status: 'cancelled' }]);

    const again = await setContactStage(ctx, { email: 'cus@example.com', to: 'customer' }, T0.plus({ days: 3 }));
    expect(again.changed).toBe(false);
  });

  it('names a stage that does not exist, and a contact that does not', async () => {
    const ctx = appContextFor(f.deps);
    await expect(setContactStage(ctx, { email: 'cus@example.com', to: 'custmer' }, T0)).rejects.toThrow(InputError);
    await expect(setContactStage(ctx, { email: 'cus@example.com', to: 'custmer' }, T0)).rejects.toThrow('did you mean customer?');
    await expect(setContactStage(ctx, { email: 'nobody@example.com', to: 'customer' }, T0)).rejects.toThrow(NotFoundError);
    expect(await f.store.db.selectFrom('contacts').select('id').where('email', '=', 'nobody@example.com').executeTakeFirst()).toBeUndefined();
  });
});
