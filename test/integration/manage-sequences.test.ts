import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPublishedSequences } from '../../src/app/check-published-sequences.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import { buildCli, runCli } from '../support/cli.js';
import type { CliStore } from '../support/cli-store.js';
import { createCliStore } from '../support/cli-store.js';
import { TEST_TEMPLATES, createTestDeps, writeTemplates } from '../support/engine.js';
import { programFromYaml } from '../support/programs.js';

/** `nurture sequences list | pause | resume | retire` and the start-time check, through the compiled CLI on real PostgreSQL. */

const DRIP = `
id: drip
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 days
  - email: guide
  - wait: 30 days
  - call: { note: "How is it going?" }
`;
const OTHER = `
id: other
trigger: { event: signed_up }
steps:
  - email: welcome
  - wait: 10 days
  - email: guide
`;

const T0 = DateTime.fromISO('2026-11-02T10:00:00Z', { zone: 'utc' });

describe('nurture sequences', () => {
  let cs: CliStore;
  let deps: EngineDeps;
  let templatesDir: string;
  const cli = (...args: string[]) => runCli(args, { env: cs.env });
  const db = () => cs.store.db;
  const optIn = (email: string, at: DateTime, type = 'opt_in') =>
    applyEvent(deps, { id: `${type}-${email}-${at.toMillis()}`, type, occurredAt: at.toISO()!, contact: { email }, data: {} }, at);
  const enrollment = (email: string, sequenceId = 'drip') =>
    db()
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .selectAll('enrollments')
      .where('contacts.email', '=', email)
      .where('enrollments.sequence_id', '=', sequenceId)
      .orderBy('enrollments.enrolled_at', 'desc')
      .executeTakeFirst();
  const touches = (email: string) =>
    db()
      .selectFrom('touches')
      .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
      .select(['touches.step_id', 'touches.status', 'touches.kind', 'touches.error'])
      .where('contacts.email', '=', email)
      .orderBy('touches.due_at')
      .execute();

  beforeAll(async () => {
    buildCli();
    cs = await createCliStore();
    templatesDir = await writeTemplates();
    ({ deps } = await createTestDeps(
      cs.store.db,
      [
        { file: 'sequences/drip.yaml', program: programFromYaml(DRIP, 'drip.yaml') },
        { file: 'sequences/other.yaml', program: programFromYaml(OTHER, 'other.yaml') },
      ],
      templatesDir,
    ));
  }, 300_000);
  afterAll(async () => {
    await cs?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('lists every sequence with its status, live version, file and enrollment counts', async () => {
    await optIn('ann@example.com', T0);
    await optIn('bob@example.com', T0);
    const r = await cli('sequences', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.map((s: { id: string }) => s.id)).toEqual(['drip', 'other']);
    expect(list[0]).toMatchObject({ id: 'drip', status: 'live', sourceFile: 'sequences/drip.yaml', enrollments: { active: 2, paused: 0, completed: 0, exited: 0 } });
    expect(list[0].liveVersion).toBe(deps.registry.activeProgram('drip')!.version);
    const text = await cli('sequences', 'list');
    expect(text.stdout).toMatch(/drip\s+live\s+[0-9a-f]{12}\s+sequences\/drip\.yaml\s+2\s+0\s+0/);
  });

  it('pause holds contacts in flight and stops new enrollments; resume continues once, without a burst', async () => {
    const before = (await enrollment('ann@example.com'))!;
    expect(before.next_wake_at?.toISOString()).toBe('2026-11-04T10:00:00.000Z');

    const paused = await cli('sequences', 'pause', 'drip');
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('sequence drip is paused: 2 contacts in flight held');
    await deps.registry.refresh();

    const held = (await enrollment('ann@example.com'))!;
    expect(held).toMatchObject({ status: 'active', next_wake_at: null });
    expect(held.held_wake_at?.toISOString()).toBe('2026-11-04T10:00:00.000Z');
    // The wake-up job queued for the old state is a no-op, even long after it was due.
    expect((await wakeEnrollment(deps, held.id, before.wake_version, T0.plus({ days: 3 }))).status).toBe('stale');
    // A new opt-in does not enroll into a paused sequence.
    const carol = await optIn('carol@example.com', T0.plus({ days: 1 }));
    expect(carol.enrolled).toEqual([]);
    expect((await cli('sequences', 'list', '--json')).stdout).toContain('"paused": 2');

    const resumed = await cli('sequences', 'resume', 'drip');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('sequence drip is live (was paused); 2 contacts continue where they were');
    await deps.registry.refresh();
    const back = (await enrollment('ann@example.com'))!;
    expect(back).toMatchObject({ held_at: null, held_wake_at: null });
    expect(back.next_wake_at?.toISOString()).toBe('2026-11-04T10:00:00.000Z');

    // Resumed 40 days after the wait ended: the overdue step runs once, and the next wait (30 days) counts from now.
    const late = T0.plus({ days: 42 });
    const woke = await wakeEnrollment(deps, back.id, back.wake_version, late);
    expect(woke.status).toBe('advanced');
    expect((await touches('ann@example.com')).map((t) => [t.step_id, t.kind])).toEqual([
      ['welcome', 'email'],
      ['guide', 'email'],
    ]);
    const after = (await enrollment('ann@example.com'))!;
    expect(after.next_wake_at?.toISOString()).toBe(late.plus({ days: 30 }).toJSDate().toISOString());
    // A second wake-up at the same moment is a no-op: nothing is repeated.
    expect((await wakeEnrollment(deps, back.id, back.wake_version, late)).status).toBe('stale');
  });

  it('retire shows what happens to contacts in flight and needs --yes; then they exit, reason retired', async () => {
    const plan = await cli('sequences', 'retire', 'drip');
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('sequence drip (sequences/drip.yaml): live');
    expect(plan.stdout).toContain('2 contacts in flight will exit the sequence now (exited, reason retired):');
    expect(plan.stdout).toMatch(/1 contact at step guide-wait\n\s+1 contact at step welcome-wait/);
    expect(plan.stdout).toContain('not retired: run again with --yes to retire drip');
    expect((await enrollment('bob@example.com'))!.status).toBe('active');

    const done = await cli('sequences', 'retire', 'drip', '--yes');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('sequence drip is retired: 2 contacts exited (reason retired)');
    await deps.registry.refresh();
    expect(await enrollment('bob@example.com')).toMatchObject({ status: 'exited', exit_reason: 'retired', next_wake_at: null });
    expect((await optIn('dave@example.com', T0.plus({ days: 50 }))).enrolled).toEqual([]);
    const list = JSON.parse((await cli('sequences', 'list', '--json')).stdout);
    expect(list[0]).toMatchObject({ id: 'drip', status: 'retired', enrollments: { active: 0, exited: 2 } });
  });

  it('an unknown id is named, with the ids the store knows', async () => {
    const r = await cli('sequences', 'pause', 'nope');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no sequence with id "nope"');
  });

  it('nurture start refuses a live sequence whose file is gone, naming it, its contacts in flight and the way out', async () => {
    await optIn('erin@example.com', T0, 'signed_up');
    const seqDir = path.join(cs.dir, 'sequences');
    const tplDir = path.join(cs.dir, 'templates');
    await mkdir(seqDir, { recursive: true });
    await mkdir(tplDir, { recursive: true });
    for (const [name, body] of Object.entries(TEST_TEMPLATES)) await writeFile(path.join(tplDir, `${name}.hbs`), body);
    await writeFile(path.join(seqDir, 'drip.yaml'), DRIP); // retired, still on disk: stays retired, with a warning

    const r = await runCli(['start', '--sequences', seqDir, '--templates', tplDir], { env: cs.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`sequence other (last loaded from sequences/other.yaml) is live but no file in ${seqDir} defines it; 1 contact in flight`);
    expect(r.stderr).toContain('restore its file, or run `nurture sequences retire other`');
    expect(r.stderr).not.toContain('    at ');

    // What start then accepts: once retired (or paused), the missing file is the operator's decision.
    expect((await cli('sequences', 'retire', 'other', '--yes')).code).toBe(0);
    const check = await checkPublishedSequences(db(), [{ file: 'drip.yaml', program: programFromYaml(DRIP, 'drip.yaml') }], seqDir);
    expect(check.warnings).toEqual([`sequence drip is retired; its file is still in ${seqDir} and stays retired (delete the file, or \`nurture sequences resume drip\`)`]);
  });
});
