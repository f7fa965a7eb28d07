import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { StoredDataError } from '../errors.js';
import type { MailKind, MailTask } from '../staff/mail-piece.js';
import type { Database } from './schema.js';

export interface MailRun {
  id: string;
  kind: MailKind;
  dueDate: string;
  taskIds: number[];
  files: { csv?: string | undefined; pdf?: string | undefined };
  createdAt: Date;
  createdBy: string;
  confirmedAt: Date | null;
  confirmedBy: string | null;
}

const taskIdsSchema = z.array(z.number().int().positive());
const filesSchema = z.object({ csv: z.string().optional(), pdf: z.string().optional() });
const kindSchema = z.enum(['postcard', 'letter']);

type MailRunRow = {
  id: string;
  kind: string;
  due_date: string;
  task_ids: unknown;
  files: unknown;
  created_at: Date;
  created_by: string;
  confirmed_at: Date | null;
  confirmed_by: string | null;
};

function toMailRun(r: MailRunRow): MailRun {
  const what = `mail run ${r.id}`;
  const kind = kindSchema.safeParse(r.kind);
  if (!kind.success) throw new StoredDataError(what, 'kind', `"${r.kind}" is not postcard or letter`);
  const ids = taskIdsSchema.safeParse(r.task_ids);
  if (!ids.success) throw new StoredDataError(what, 'task_ids', z.prettifyError(ids.error));
  const files = filesSchema.safeParse(r.files ?? {});
  if (!files.success) throw new StoredDataError(what, 'files', z.prettifyError(files.error));
  return {
    id: r.id,
    kind: kind.data,
    dueDate: r.due_date,
    taskIds: ids.data,
    files: files.data,
    createdAt: r.created_at,
    createdBy: r.created_by,
    confirmedAt: r.confirmed_at,
    confirmedBy: r.confirmed_by,
  };
}

/**
 * Serialises run creation: two operators exporting the same day at once would otherwise both see
 * the same pieces as not yet in a run. Held until the transaction ends.
 */
export async function lockMailRuns(tx: Kysely<Database>): Promise<void> {
  await sql`lock table mail_runs in share row exclusive mode`.execute(tx);
}

/** Open postcards or letters due before `before`, soonest first, with their contact as it is now. */
export async function openMailTasks(db: Kysely<Database>, kind: MailKind, before: Date): Promise<MailTask[]> {
  const rows = await db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .select([
      'tasks.id',
      'tasks.address',
      'tasks.content',
      'contacts.email',
      'contacts.first_name',
      'contacts.last_name',
      'contacts.address as contact_address',
      'contacts.attributes',
      'contacts.address_bad_at',
    ])
    .where('tasks.kind', '=', kind)
    .where('tasks.status', '=', 'open')
    .where('tasks.due_at', '<', before)
    .orderBy('tasks.due_at')
    .orderBy('tasks.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    kind,
    address: r.address,
    content: r.content,
    contact: {
      email: r.email,
      firstName: r.first_name,
      lastName: r.last_name,
      address: r.contact_address,
      attributes: r.attributes ?? {},
      addressBadAt: r.address_bad_at,
    },
  }));
}

/** Each task of a run nobody has confirmed yet, with that run's id. */
export async function tasksInUnconfirmedRuns(db: Kysely<Database>, kind: MailKind): Promise<Map<number, string>> {
  const rows = await db.selectFrom('mail_runs').selectAll().where('kind', '=', kind).where('confirmed_at', 'is', null).orderBy('created_at').execute();
  const held = new Map<number, string>();
  for (const r of rows) for (const id of toMailRun(r).taskIds) held.set(id, r.id);
  return held;
}

export async function insertMailRun(db: Kysely<Database>, run: Omit<MailRun, 'confirmedAt' | 'confirmedBy'>): Promise<void> {
  await db
    .insertInto('mail_runs')
    .values({
      id: run.id,
      kind: run.kind,
      due_date: run.dueDate,
      task_ids: JSON.stringify(run.taskIds),
      files: JSON.stringify(run.files),
      created_at: run.createdAt,
      created_by: run.createdBy,
    })
    .execute();
}

export async function findMailRun(db: Kysely<Database>, id: string): Promise<MailRun | undefined> {
  const r = await db.selectFrom('mail_runs').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toMailRun(r) : undefined;
}

/** Marks the run confirmed; false when another confirmation got there first. */
export async function markMailRunConfirmed(db: Kysely<Database>, id: string, at: Date, by: string): Promise<boolean> {
  const r = await db.updateTable('mail_runs').set({ confirmed_at: at, confirmed_by: by }).where('id', '=', id).where('confirmed_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
