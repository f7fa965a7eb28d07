import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** The database as read models see it; entry points pass it along without knowing its tables. */
export type ReadDb = Kysely<Database>;
