import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxTask } from '../../src/queries/inbox-task.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * The task page shows a contact's last 15 opens and clicks and, apart, their last 15 other
 * events. A contact who opens every email must not crowd the other events out, nor be cut short.
 */
describe('inbox task page: history of a busy contact', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore('postgres');
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('lists 15 opens and clicks and the 15 newest other events, however they interleave', async () => {
    const { db } = store;
    const contact = await db.insertInto('contacts').values({ email: 'busy@example.com', attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
    const base = Date.parse('2026-11-01T12:00:00Z');
    // Oldest first: 20 form submissions, then 60 opens and clicks (the newest 60 events of all).
    const rows = [
      ...Array.from({ length: 20 }, () => ({ type: 'form_submitted', data: {} })),
      ...Array.from({ length: 60 }, (_, i) => (i % 2 ? { type: 'email_clicked', data: { url: `https://example.com/${i}` } } : { type: 'email_opened', data: {} })),
    ].map((r, i) => ({ id: `busy-${i}`, contact_id: contact.id, type: r.type, occurred_at: new Date(base + i * 60_000), data: JSON.stringify(r.data) }));
    await db.insertInto('events').values(rows).execute();
    const task = await db
      .insertInto('tasks')
      .values({ contact_id: contact.id, kind: 'call', title: 'Call busy', due_at: new Date(base), assignee: 'bob@example.com', team: 'sales', status: 'open', priority: 'high', history: '[]' })
      .returning('id')
      .executeTakeFirstOrThrow();

    const page = await inboxTask(db, { email: 'bob@example.com', name: 'Bob', teams: ['sales'], manages: [] }, task.id);

    expect(page.engagement).toHaveLength(15);
    expect(page.engagement[0]).toEqual({ type: 'email_clicked', at: new Date(base + 79 * 60_000).toISOString(), url: 'https://example.com/59' });
    expect(page.events).toHaveLength(15);
    expect(page.events.every((e) => e.type === 'form_submitted')).toBe(true);
    expect(page.events[0]!.at).toBe(new Date(base + 19 * 60_000).toISOString());
  });
});
