import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { activeVersions, loadVersion, publishVersion } from '../db/sequence-repository.js';
import type { EnrollmentState } from '../sequences/advance.js';
import { compileSequence } from '../sequences/compile.js';
import type { LoadedSequence } from '../sequences/load.js';
import { migrateState } from '../sequences/migrate.js';
import type { Program } from '../sequences/program.js';

/**
 * Which compiled version of each sequence is live, and the compiled form of any version an
 * enrollment is pinned to. Versions live in the database, so every worker process (and a
 * restarted one) runs in-flight contacts on exactly the definition they were enrolled with.
 */
export class SequenceRegistry {
  private readonly byVersion = new Map<string, Program>();
  private active = new Map<string, Program>();

  constructor(private readonly db: Kysely<Database>) {}

  /** Stores the given files' versions and makes them live (what `nurture start` does). */
  async publish(loaded: readonly LoadedSequence[]): Promise<{ sequenceId: string; version: string; previous: string | null }[]> {
    const out = [];
    for (const s of loaded) {
      const previous = await publishVersion(this.db, {
        sequenceId: s.program.sequenceId,
        version: s.program.version,
        definition: s.program.definition,
        sourceFile: s.file,
      });
      this.byVersion.set(keyOf(s.program.sequenceId, s.program.version), s.program);
      out.push({ sequenceId: s.program.sequenceId, version: s.program.version, previous });
    }
    await this.refresh();
    return out;
  }

  /** Re-reads which versions are live (cheap; worker processes call it periodically). */
  async refresh(): Promise<void> {
    const next = new Map<string, Program>();
    for (const { id, version } of await activeVersions(this.db)) {
      const p = await this.version(id, version);
      if (p) next.set(id, p);
    }
    this.active = next;
  }

  activePrograms(): Program[] {
    return [...this.active.values()];
  }

  activeProgram(sequenceId: string): Program | undefined {
    return this.active.get(sequenceId);
  }

  async version(sequenceId: string, version: string): Promise<Program | undefined> {
    const key = keyOf(sequenceId, version);
    const cached = this.byVersion.get(key);
    if (cached) return cached;
    const stored = await loadVersion(this.db, sequenceId, version);
    if (!stored) return undefined;
    const compiled = compileSequence(stored.definition);
    if (!compiled.ok) throw new Error(`stored version ${version} of sequence ${sequenceId} no longer compiles: ${compiled.problems[0]?.message}`);
    this.byVersion.set(key, compiled.program);
    return compiled.program;
  }

  /**
   * The program an enrollment runs next: its own version, or the live one if the live version
   * says `on_edit: migrate`, with the state moved across by step id.
   */
  async forEnrollment(e: { sequence_id: string; sequence_version: string; state: unknown }): Promise<{ program: Program; state: EnrollmentState; migratedFrom?: string }> {
    const state = e.state as EnrollmentState;
    const own = await this.version(e.sequence_id, e.sequence_version);
    if (!own) throw new Error(`sequence ${e.sequence_id} version ${e.sequence_version} is not stored`);
    const live = this.active.get(e.sequence_id);
    if (!live || live.version === own.version || live.definition.on_edit !== 'migrate') return { program: own, state };
    return { program: live, state: migrateState(own, live, state).state, migratedFrom: own.version };
  }
}

function keyOf(id: string, version: string): string {
  return `${id}@${version}`;
}
