/**
 * The last known state of the services the engine depends on, shared between processes: the
 * engine that sees the mail server go down writes it, `nurture stats` and a readiness check
 * read it. Written on a change of state, and otherwise at most every few seconds, never per send.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from './schema.js';
import { StoredDataError } from '../errors.js';

/** The row of the mail transport (SMTP or the .eml outbox). */
export const MAIL_TRANSPORT = 'mail';

export interface ServiceHealth {
  state: 'up' | 'down';
  /** The destination, and what went wrong when down. */
  detail: string;
  /** When this state began (kept across writers while the state stays the same). */
  since: Date;
  /** When a process last confirmed it. */
  checkedAt: Date;
}

/** No engine has reported on the service yet. */
export type ServiceHealthReport = ServiceHealth | { state: 'unknown' };

const storedRow = z.object({
  state: z.enum(['up', 'down']),
  detail: z.string(),
  since: z.date(),
  checked_at: z.date(),
});

/**
 * Upserts the state. Several processes may write the same row: `since` moves only when the state
 * changes, so "down since 10:02" stays true whichever process confirms it.
 */
export async function recordServiceHealth(db: Kysely<Database>, name: string, h: ServiceHealth): Promise<void> {
  await db
    .insertInto('service_health')
    .values({ name, state: h.state, detail: h.detail, since: h.since, checked_at: h.checkedAt })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        state: (eb) => eb.ref('excluded.state'),
        detail: (eb) => eb.ref('excluded.detail'),
        since: sql<Date>`case when service_health.state = excluded.state then service_health.since else excluded.since end`,
        checked_at: (eb) => eb.ref('excluded.checked_at'),
      }),
    )
    .execute();
}

export async function serviceHealth(db: Kysely<Database>, name: string): Promise<ServiceHealthReport> {
  const row = await db.selectFrom('service_health').select(['state', 'detail', 'since', 'checked_at']).where('name', '=', name).executeTakeFirst();
  if (!row) return { state: 'unknown' };
  const parsed = storedRow.safeParse(row);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StoredDataError(`service_health row ${JSON.stringify(name)}`, issue.path.join('.') || 'row', issue.message);
  }
  const r = parsed.data;
  return { state: r.state, detail: r.detail, since: r.since, checkedAt: r.checked_at };
}

/** The mail transport's last known state, for `nurture stats` and the readiness check. */
export function mailTransportHealth(db: Kysely<Database>): Promise<ServiceHealthReport> {
  return serviceHealth(db, MAIL_TRANSPORT);
}
