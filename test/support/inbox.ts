import argon2 from 'argon2';
import type { Kysely } from 'kysely';
import type { Database, TaskKind } from '../../src/db/schema.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';

/** Two teams and a manager: what the inbox tests log in as. */
export const INBOX_TEAM_YAML = `zone: UTC
hours:
  weekdays: "00:00-24:00"
  sat: "00:00-24:00"
  sun: "00:00-24:00"
teams:
  sales:
    manager: carol@example.com
  office: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
  dana@example.com: { name: Dana Kim, teams: [sales] }
  carol@example.com: { name: Carol Okafor, teams: [sales] }
  olive@example.com: { name: Olive Brandt, teams: [office] }
`;

export function inboxDirectory(yaml = INBOX_TEAM_YAML): TeamDirectory {
  const r = parseTeamDirectory(yaml, 'team.yaml');
  if (!r.ok) throw new Error(`test team.yaml: ${JSON.stringify(r.problems)}`);
  if (!r.value) throw new Error('test team.yaml is empty');
  return r.value;
}

export const INBOX_PASSWORD = 'correct horse battery staple';

/** An inbox account as `nurture users add` would store it: an argon2id hash. */
export async function seedStaffAccount(db: Kysely<Database>, email: string, password = INBOX_PASSWORD): Promise<void> {
  // Cheap parameters: tests log in many times; production hashes use argon2's defaults.
  const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 8192, timeCost: 2 });
  await db.insertInto('staff_accounts').values({ email, password_hash: hash }).onConflict((oc) => oc.column('email').doUpdateSet({ password_hash: hash })).execute();
}

export async function seedContact(db: Kysely<Database>, c: { email: string; first?: string; last?: string; phone?: string; address?: Record<string, unknown> }): Promise<string> {
  const r = await db
    .insertInto('contacts')
    .values({
      email: c.email,
      first_name: c.first ?? null,
      last_name: c.last ?? null,
      phone: c.phone ?? null,
      address: c.address ? JSON.stringify(c.address) : null,
      attributes: '{}',
      tags: '[]',
      opted_in_at: new Date('2026-11-01T00:00:00Z'),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function seedTask(
  db: Kysely<Database>,
  t: { contactId: string; kind?: TaskKind; title: string; assignee?: string | null; team?: string | null; priority?: 'normal' | 'high'; dueAt?: Date; slaDueAt?: Date | null; phone?: string | null; note?: string | null },
): Promise<number> {
  const r = await db
    .insertInto('tasks')
    .values({
      touch_id: null,
      contact_id: t.contactId,
      enrollment_id: null,
      kind: t.kind ?? 'call',
      priority: t.priority ?? 'normal',
      status: 'open',
      title: t.title,
      note: t.note ?? null,
      content: null,
      address: null,
      phone: t.phone ?? null,
      history: '[]',
      due_at: t.dueAt ?? new Date('2026-12-24T01:00:00Z'),
      assignee: t.assignee ?? null,
      team: t.team ?? null,
      assigned_at: new Date('2026-12-24T00:00:00Z'),
      sla_due_at: t.slaDueAt ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

/** Cookies a response set, as a Cookie header value (name=value; ...), merged over `jar`. */
export function cookieJar(setCookie: string | string[] | undefined, jar: Record<string, string> = {}): Record<string, string> {
  const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  const next = { ...jar };
  for (const c of list) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    const name = pair!.slice(0, i).trim();
    const value = pair!.slice(i + 1).trim();
    if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) delete next[name];
    else next[name] = value;
  }
  return next;
}

export const cookieHeader = (jar: Record<string, string>) =>
  Object.entries(jar)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

/** The CSRF token of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF field on the page');
  return m[1]!;
}
