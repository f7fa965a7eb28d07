import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { activeVersions, enrollmentsByStep, loadVersion } from '../db/sequence-repository.js';
import type { EnrollmentState } from '../sequences/advance.js';
import { compileSequence } from '../sequences/compile.js';
import type { LoadedSequence } from '../sequences/load.js';
import { migrateState } from '../sequences/migrate.js';
import type { Instruction, Program } from '../sequences/program.js';
import { instructionKey } from '../sequences/program.js';
import { InternalError, SequenceVersionError } from '../errors.js';

/**
 * What publishing the sequence files would do to contacts in flight, for `nurture validate`:
 * "312 contacts at step guide will move to step postcard". The decision is the engine's own
 * (`migrateState`, the `on_edit` of the new file, as SequenceRegistry.forEnrollment applies it);
 * this only runs it on one synthetic state per group of contacts at the same step.
 */

/** Active enrollments of one sequence at one step of one version. */
export interface StepGroup {
  version: string;
  stepId: string | null;
  count: number;
}

export type Fate =
  /** The step still exists: the contacts stay where they are. */
  | { kind: 'stay'; to: string }
  /** The step is gone: the contacts go on at the next step of their version that survives. */
  | { kind: 'move'; to: string }
  /** Nothing after their step survives: they finish the sequence. */
  | { kind: 'finish' }
  /** The new file says `on_edit: stay`: they finish on the version they are on. */
  | { kind: 'pinned' }
  /** Their version or step cannot be read back (not stored, no longer compiles): nothing can be said. */
  | { kind: 'unknown'; why: string };

export interface GroupImpact extends StepGroup {
  fate: Fate;
}

export interface EditImpact {
  sequenceId: string;
  file: string;
  /** The version live now, and the one the file would make live. */
  from: string;
  to: string;
  onEdit: 'migrate' | 'stay';
  /** Active enrollments of the sequence, on any version. */
  contacts: number;
  groups: GroupImpact[];
  /** One sentence per distinct outcome, in step order. */
  lines: string[];
}

/** The loaded version of a sequence (SequenceRegistry is one). Rejects when a stored version no longer compiles. */
export interface ProgramLoader {
  version(sequenceId: string, version: string): Promise<Program | undefined>;
}

/** Reads versions straight from sequence_versions, compiled once each. */
export function storedPrograms(db: Kysely<Database>): ProgramLoader {
  const cache = new Map<string, Promise<Program | undefined>>();
  return {
    version(sequenceId, version) {
      const key = `${sequenceId}@${version}`;
      let p = cache.get(key);
      if (!p) {
        p = loadVersion(db, sequenceId, version).then((stored) => {
          if (!stored) return undefined;
          const compiled = compileSequence(stored.definition);
          if (!compiled.ok) throw new SequenceVersionError(`stored version ${version} no longer compiles: ${compiled.problems[0]?.message ?? 'unknown problem'}`);
          return compiled.program;
        });
        cache.set(key, p);
      }
      return p;
    },
  };
}

// ---- pure -----------------------------------------------------------------------------------

const RESTING: ReadonlySet<Instruction['op']> = new Set(['wait', 'loop_wait', 'wait_for', 'email']);

/**
 * Where an enrollment at `stepId` sits in `program`: the instruction it can rest on (a wait, a
 * wait_for, an email held for its send window), else the step's first instruction. A repeat's
 * contacts rest on its wait, not on the loop bookkeeping around it.
 */
export function restingPc(program: Program, stepId: string): number {
  const own = program.instructions.flatMap((ins, pc) => (ins.stepId === stepId ? [pc] : []));
  return own.find((pc) => RESTING.has(program.instructions[pc]!.op)) ?? own[0] ?? -1;
}

function syntheticState(program: Program, pc: number): EnrollmentState {
  const ins = program.instructions[pc]!;
  const until = '2000-01-01T00:00:00.000Z';
  const pending = ins.op === 'wait' || ins.op === 'loop_wait' ? { kind: 'wait' as const, until } : ins.op === 'wait_for' ? { kind: 'wait_for' as const, until } : null;
  return { v: 2, pc, at: instructionKey(ins), loops: {}, clock: until, pending };
}

/** Where contacts at (old version, step) end up when `next` goes live. */
export function fateOf(next: Program, old: Program | undefined, stepId: string | null): Fate {
  if (next.definition.on_edit === 'stay') return { kind: 'pinned' };
  if (!old) return { kind: 'unknown', why: 'that version is not stored' };
  if (stepId === null) return { kind: 'unknown', why: 'their step is not recorded' };
  const pc = restingPc(old, stepId);
  if (pc < 0) return { kind: 'unknown', why: 'that version has no such step' };
  const m = migrateState(old, next, syntheticState(old, pc));
  if (m.to === null) return { kind: 'finish' };
  return m.to === stepId && m.state.at === instructionKey(old.instructions[pc]!) ? { kind: 'stay', to: m.to } : { kind: 'move', to: m.to };
}

const contacts = (n: number): string => `${n} contact${n === 1 ? '' : 's'}`;
const stay = (n: number): string => (n === 1 ? 'stays' : 'stay');

export function describeGroup(g: { version: string; stepId: string | null; count: number; fate: Fate }): string {
  const at = `${contacts(g.count)} at step ${g.stepId ?? '(none)'}`;
  switch (g.fate.kind) {
    case 'stay':
      return `${at} ${stay(g.count)} at step ${g.fate.to}`;
    case 'move':
      return `${at} will move to step ${g.fate.to}`;
    case 'finish':
      return `${at} will finish the sequence (no later step survives)`;
    case 'pinned':
      return `${contacts(g.count)} ${stay(g.count)} on version ${g.version} until they finish`;
    case 'unknown':
      return `${at} of version ${g.version}: cannot tell where they go (${g.fate.why})`;
    default: {
      const never: never = g.fate;
      throw new InternalError(`unhandled fate ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The impact of making `next` live on these groups of contacts. `programs` holds the versions
 * they are on (a version missing from it is reported as unknown). Contacts already on `next`
 * are untouched and left out. Lines with the same outcome are merged (two old versions with the
 * same step), and ordered by where the step is in the contacts' version; pinned contacts get one
 * line per version.
 */
export function planEditImpact(
  next: Program,
  groups: readonly StepGroup[],
  programs: ReadonlyMap<string, Program>,
  why: ReadonlyMap<string, string> = new Map(),
): { groups: GroupImpact[]; lines: string[] } {
  const affected = groups
    .filter((g) => g.version !== next.version && g.count > 0)
    .map((g): GroupImpact & { order: number } => {
      const old = programs.get(g.version);
      const unstored = why.get(g.version);
      const fate: Fate = next.definition.on_edit !== 'stay' && !old && unstored ? { kind: 'unknown', why: unstored } : fateOf(next, old, g.stepId);
      const pc = old && g.stepId !== null ? restingPc(old, g.stepId) : -1;
      return { ...g, fate, order: pc < 0 ? Number.MAX_SAFE_INTEGER : pc };
    })
    .sort((a, b) => a.order - b.order || a.version.localeCompare(b.version) || (a.stepId ?? '').localeCompare(b.stepId ?? ''));

  const merged = new Map<string, { version: string; stepId: string | null; count: number; fate: Fate }>();
  for (const g of affected) {
    const key = g.fate.kind === 'pinned' ? `pinned:${g.version}` : g.fate.kind === 'unknown' ? `unknown:${g.version}:${g.stepId}` : `${g.fate.kind}:${g.stepId}:${'to' in g.fate ? g.fate.to : ''}`;
    const prev = merged.get(key);
    if (prev) prev.count += g.count;
    else merged.set(key, { version: g.version, stepId: g.stepId, count: g.count, fate: g.fate });
  }
  return {
    groups: affected.map(({ order: _order, ...g }) => g),
    lines: [...merged.values()].map(describeGroup),
  };
}

// ---- the shell ------------------------------------------------------------------------------

/**
 * For each loaded sequence whose version differs from the live one: where its active contacts
 * would be once the file goes live. New sequences (nothing live yet) have nobody in flight and
 * are left out.
 */
export async function editImpact(db: Kysely<Database>, loader: ProgramLoader, loaded: readonly LoadedSequence[]): Promise<EditImpact[]> {
  const live = new Map((await activeVersions(db)).map((a) => [a.id, a.version]));
  const out: EditImpact[] = [];
  for (const s of loaded) {
    const next = s.program;
    const from = live.get(next.sequenceId);
    if (from === undefined || from === next.version) continue;
    const rows = await enrollmentsByStep(db, next.sequenceId);
    const groups: StepGroup[] = rows.map((r) => ({ version: r.sequence_version, stepId: r.step_id, count: Number(r.n) }));
    const programs = new Map<string, Program>();
    const why = new Map<string, string>();
    for (const version of new Set(groups.map((g) => g.version))) {
      if (version === next.version) continue;
      try {
        const p = await loader.version(next.sequenceId, version);
        if (p) programs.set(version, p);
        else why.set(version, 'that version is not stored');
      } catch (err) {
        why.set(version, (err as Error).message);
      }
    }
    const plan = planEditImpact(next, groups, programs, why);
    out.push({
      sequenceId: next.sequenceId,
      file: s.file,
      from,
      to: next.version,
      onEdit: next.definition.on_edit,
      contacts: groups.reduce((n, g) => n + g.count, 0),
      ...plan,
    });
  }
  return out;
}

/** The report as text: a heading per sequence, then its lines. */
export function formatEditImpact(impacts: readonly EditImpact[]): string[] {
  const out: string[] = [];
  for (const i of impacts) {
    out.push(`sequence ${i.sequenceId} (${i.file}): live version ${i.from} -> ${i.to}, on_edit: ${i.onEdit}`);
    if (i.lines.length === 0) out.push('  no contacts in flight');
    for (const line of i.lines) out.push(`  ${line}`);
  }
  return out;
}
