import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import type { Store } from '../db/database.js';
import { PGLITE_SUBDIR, openStore } from '../db/database.js';
import type { EditImpact } from '../engine/edit-impact.js';
import { editImpact, storedPrograms } from '../engine/edit-impact.js';
import type { LoadedSequence } from '../sequences/load.js';

export type { EditImpact };
export { formatEditImpact } from '../engine/edit-impact.js';

/** null: no report wanted (or, by default, no store to read); `skipped`: wanted but not possible, and why. */
export type InFlightReport = { impact: EditImpact[] } | { skipped: string } | null;

export interface InFlightDeps {
  env?: NodeJS.ProcessEnv;
  /** Opens the store read-only (no migrations); tests pass their own. */
  open?: (cfg: Config) => Promise<Pick<Store, 'db' | 'close'>>;
}

const openForReport = (cfg: Config) => openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 1, migrate: false });

/**
 * What publishing these files would do to contacts in flight. `want` is --impact (true),
 * --no-impact (false) or neither (undefined: report when a store is configured). The report
 * never changes the exit code: a store that cannot be read is one line saying so.
 */
export async function inFlightReport(loaded: readonly LoadedSequence[], want: boolean | undefined, deps: InFlightDeps = {}): Promise<InFlightReport> {
  if (want === false) return null;
  let cfg: Config;
  try {
    cfg = loadConfig(deps.env ?? process.env);
  } catch (err) {
    return { skipped: (err as Error).message.replace(/\n\s*/g, ' ') };
  }
  const hasStore = cfg.databaseUrl !== undefined || existsSync(path.join(cfg.dataDir, PGLITE_SUBDIR));
  if (!hasStore) {
    return want ? { skipped: `no store to read (DATABASE_URL is unset and there is no embedded store in ${cfg.dataDir})` } : null;
  }
  let store: Pick<Store, 'db' | 'close'>;
  try {
    store = await (deps.open ?? openForReport)(cfg);
  } catch (err) {
    return { skipped: (err as Error).message };
  }
  try {
    return { impact: await editImpact(store.db, storedPrograms(store.db), loaded) };
  } catch (err) {
    const missing = (err as { code?: unknown }).code === '42P01'; // undefined_table
    return { skipped: missing ? 'the store has no tables yet (run `nurture migrate`)' : `the store could not be read: ${(err as Error).message}` };
  } finally {
    await store.close();
  }
}
