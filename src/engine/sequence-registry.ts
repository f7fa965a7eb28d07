import type { Kysely } from 'kysely';
import { stateOf } from '../db/enrollment-repository.js';
import type { Database } from '../db/schema.js';
import { activeVersions, loadVersion, publishVersion, sequencesRevision } from '../db/sequence-repository.js';
import { SequenceVersionError } from '../errors.js';
import type { EnrollmentState } from '../sequences/advance.js';
import { compileSequence } from '../sequences/compile.js';
import { migrateState } from '../sequences/migrate.js';
import type { Program } from '../sequences/program.js';
import type { StoredTemplate } from '../templates/template-files.js';
import type { PublishableSequence } from './published-templates.js';
import { readTemplates, withTemplates } from './published-templates.js';

export interface RegistryOptions {
  /** Where `publish` reads the templates of sequences given without them; not needed to run published versions. */
  templatesDir?: string;
}

interface StoredProgram {
  program: Program;
  templates: Readonly<Record<string, StoredTemplate>> | null;
}

/**
 * Which compiled version of each sequence is live, and the compiled form of any version an
 * enrollment is pinned to. Versions live in the database, so every worker process (and a
 * restarted one) runs in-flight contacts on exactly the definition they were enrolled with.
 *
 * The live set is never trusted from memory alone: `sync(tx)` reads the one-row revision stamp
 * (bumped by a trigger on every write to `sequences`) inside the transaction that applies an
 * event or a wake-up, and reloads when it moved. So a process started before anything was
 * published, or one that lags behind another process's publish, decides exactly like it.
 */
export class SequenceRegistry {
  private readonly byVersion = new Map<string, StoredProgram>();
  private active = new Map<string, Program>();
  /** Revision the active set was read at; null before the first read. */
  private revision: bigint | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: RegistryOptions = {},
  ) {}

  /** Stores the given files' versions, with their templates, and makes them live (what `nurture start` does). */
  async publish(loaded: readonly PublishableSequence[]): Promise<{ sequenceId: string; version: string; previous: string | null }[]> {
    const out = [];
    for (const given of loaded) {
      const s = given.templates ? withTemplates(given, given.templates) : await this.attachTemplates(given);
      const previous = await publishVersion(this.db, {
        sequenceId: s.program.sequenceId,
        version: s.program.version,
        definition: s.program.definition,
        sourceFile: s.file,
        templates: s.templates ?? {},
      });
      this.byVersion.set(keyOf(s.program.sequenceId, s.program.version), { program: s.program, templates: s.templates ?? {} });
      out.push({ sequenceId: s.program.sequenceId, version: s.program.version, previous });
    }
    await this.refresh();
    return out;
  }

  private async attachTemplates(s: PublishableSequence): Promise<PublishableSequence> {
    const dir = this.options.templatesDir;
    if (dir === undefined) {
      throw new SequenceVersionError(`cannot publish sequence ${s.program.sequenceId} (${s.file}): no templates folder was given to read its templates from`);
    }
    return withTemplates(s, await readTemplates(dir, s.program));
  }

  /** Re-reads which versions are live, whatever the stamp says. */
  async refresh(db: Kysely<Database> = this.db): Promise<void> {
    await this.load(db, BigInt(await sequencesRevision(db)));
  }

  /**
   * Makes the live set current as seen by `tx`: one cheap read of the stamp, and a reload only
   * when another process (or this one) wrote to `sequences` since the last read.
   */
  async sync(tx: Kysely<Database>): Promise<void> {
    const revision = BigInt(await sequencesRevision(tx));
    if (revision === this.revision) return;
    await this.load(tx, revision);
  }

  private async load(db: Kysely<Database>, revision: bigint): Promise<void> {
    // The stamp is read before the versions: a publish committed in between makes the next
    // sync reload again, never keeps a set older than its stamp.
    const next = new Map<string, Program>();
    for (const { id, version } of await activeVersions(db)) {
      const p = await this.version(id, version, db);
      if (!p) throw new SequenceVersionError(`sequence ${id}: its live version ${version} is not stored in sequence_versions`);
      next.set(id, p);
    }
    // Several transactions may reload at once: the newest stamp wins.
    if (this.revision === null || revision >= this.revision) {
      this.active = next;
      this.revision = revision;
    }
  }

  activePrograms(): Program[] {
    return [...this.active.values()];
  }

  activeProgram(sequenceId: string): Program | undefined {
    return this.active.get(sequenceId);
  }

  async version(sequenceId: string, version: string, db: Kysely<Database> = this.db): Promise<Program | undefined> {
    return (await this.stored(sequenceId, version, db))?.program;
  }

  /** The template `name` as published with `sequenceId@version`; undefined when that version stored none by that name. */
  async template(sequenceId: string, version: string, name: string, db: Kysely<Database> = this.db): Promise<StoredTemplate | undefined> {
    return (await this.stored(sequenceId, version, db))?.templates?.[name];
  }

  private async stored(sequenceId: string, version: string, db: Kysely<Database>): Promise<StoredProgram | undefined> {
    const key = keyOf(sequenceId, version);
    const cached = this.byVersion.get(key);
    if (cached) return cached;
    const stored = await loadVersion(db, sequenceId, version);
    if (!stored) return undefined;
    const compiled = compileSequence(stored.definition);
    if (!compiled.ok) {
      const p = compiled.problems[0];
      throw new SequenceVersionError(`stored version ${version} of sequence ${sequenceId} no longer compiles: ${p ? `${p.path}: ${p.message}` : 'unknown problem'}`);
    }
    // The stored id, not the definition's hash: since templates are stored, the id covers them too.
    const entry: StoredProgram = { program: { ...compiled.program, version }, templates: stored.templates };
    this.byVersion.set(key, entry);
    return entry;
  }

  /**
   * The program an enrollment runs next: its own version, or the live one if the live version
   * says `on_edit: migrate`, with the state moved across by step id. Given the transaction,
   * the live set is checked against the database in it first.
   */
  async forEnrollment(
    e: { id: string; sequence_id: string; sequence_version: string; state: unknown },
    tx?: Kysely<Database>,
    /** The caller synced the live set in `tx` already (a batch syncs once for all its enrollments). */
    o: { synced?: boolean } = {},
  ): Promise<{ program: Program; state: EnrollmentState; migratedFrom?: string }> {
    if (tx && !o.synced) await this.sync(tx);
    const state = stateOf(e);
    const own = await this.version(e.sequence_id, e.sequence_version, tx);
    if (!own) throw new SequenceVersionError(`enrollment ${e.id}: sequence ${e.sequence_id} version ${e.sequence_version} is not stored`);
    const live = this.active.get(e.sequence_id);
    if (!live || live.version === own.version || live.definition.on_edit !== 'migrate') return { program: own, state };
    return { program: live, state: migrateState(own, live, state).state, migratedFrom: own.version };
  }
}

function keyOf(id: string, version: string): string {
  return `${id}@${version}`;
}
