import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * Two engines (as two worker processes would) on one Redis queue and one database, fed bursts of
 * events for the same contacts at once: every contact's events are applied one at a time, so
 * concurrent opt-ins never make two enrollments and a promotion is applied exactly once.
 */
const SEQUENCE = `
id: once
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 1 day
  - email: guide
`;

describe('events of one contact across two worker processes', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let a: TestEngine;
  let b: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    const config = testConfig({ SMTP_URL: smtp.url, NURTURE_EVENT_CONCURRENCY: '16' });
    a = await startTestEngine({ store, sequences: [SEQUENCE], templatesDir, config });
    b = await startTestEngine({ store, sequences: [SEQUENCE], templatesDir, config, sweeper: false });
  });
  afterAll(async () => {
    await b?.engine.stop();
    await a?.stop();
    await smtp?.close();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('serialises them: one enrollment, one welcome, one promotion, one lead call per contact', async () => {
    const contacts = Array.from({ length: 10 }, (_, i) => `same-${i}@example.com`);
    const sends: Promise<string>[] = [];
    for (const email of contacts) {
      for (let n = 0; n < 6; n++) {
        // Distinct event ids: these are six real opt-ins, not redeliveries.
        const engine = n % 2 === 0 ? a : b;
        sends.push(engine.emit({ id: `${email}-optin-${n}`, type: 'opt_in', email }));
      }
      sends.push(a.emit({ id: `${email}-appt-1`, type: 'appointment_requested', email }));
      sends.push(b.emit({ id: `${email}-appt-2`, type: 'appointment_requested', email }));
    }
    await Promise.all(sends);
    await eventually(async () => {
      const n = await store.db.selectFrom('events').select(store.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      return Number(n.n) === contacts.length * 8;
    }, 'all events applied', 30_000);

    for (const email of contacts) {
      const c = await store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
      expect(c.status).toBe('lead');
      const enrollments = await store.db.selectFrom('enrollments').select(['status', 'exit_reason']).where('contact_id', '=', c.id).execute();
      // Either the opt-ins came first (one enrollment, ended by the promotion) or the promotion did (none).
      expect(enrollments.length).toBeLessThanOrEqual(1);
      for (const e of enrollments) expect(e).toEqual({ status: 'exited', exit_reason: 'promoted' });
      const leadCalls = await store.db.selectFrom('tasks').select('id').where('contact_id', '=', c.id).where('priority', '=', 'high').execute();
      expect(leadCalls).toHaveLength(1);
      const welcomes = await store.db.selectFrom('touches').select('id').where('contact_id', '=', c.id).where('step_id', '=', 'welcome').execute();
      expect(welcomes.length).toBe(enrollments.length);
    }
  });
});
