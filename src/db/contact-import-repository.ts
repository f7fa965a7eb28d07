import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Contact, PostalAddress } from '../sequences/contact.js';
import type { Database } from './schema.js';
import { givenContactColumns, mergedContactFields } from './contact-repository.js';

/** One imported row, already validated: only the fields the file gave. */
export interface ImportedContact {
  email: string;
  firstName?: string | undefined;
  lastName?: string | undefined;
  phone?: string | undefined;
  timezone?: string | undefined;
  address?: PostalAddress | undefined;
  attributes: Record<string, unknown>;
  tags: Contact['tags'];
}

/**
 * Creates or refreshes contacts from an import, one statement for the whole batch (emails must
 * be distinct within it). As with events, a field the file leaves empty keeps its stored value,
 * attributes are merged and tags added. No opt-in is recorded: an imported contact is a contact,
 * not a consent. Rows are sorted by email, the engine's lock order, so an import never deadlocks
 * an event batch. Returns how many were created.
 */
export async function upsertImportedContacts(db: Kysely<Database>, rows: readonly ImportedContact[]): Promise<{ created: number; updated: number }> {
  if (rows.length === 0) return { created: 0, updated: 0 };
  const values = [...rows]
    .sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0))
    .map((c) => ({ ...givenContactColumns(c), tags: JSON.stringify(c.tags) }));
  const out = await db
    .insertInto('contacts')
    .values(values)
    .onConflict((oc) =>
      oc.column('email').doUpdateSet({
        ...mergedContactFields(),
        tags: sql`contacts.tags || coalesce((select jsonb_agg(t) from jsonb_array_elements(excluded.tags) t where not contacts.tags @> jsonb_build_array(t)), '[]'::jsonb)`,
      }),
    )
    .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
    .execute();
  const created = out.filter((r) => r.inserted).length;
  return { created, updated: out.length - created };
}
