import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildCli } from '../support/cli.js';

const run = promisify(execFile);

/**
 * What a user of the published package gets: the tarball `npm pack` makes, installed in a project
 * of its own (from the npm cache first: `npm ci` filled it with every dependency), imported by the
 * name the README gives, and type-checked with the project's own TypeScript. The README promises
 * that `defineSequence` rejects a wrong sequence at compile time: this is where that is checked.
 */
const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

interface TscResult {
  code: number;
  output: string;
}

describe(`the packed ${pkg.name} package`, () => {
  let work: string;
  let project: string;
  /** One tsc run for the valid files and one for the invalid ones, in parallel: each costs seconds. */
  let checks: { valid: TscResult; invalid: TscResult };

  async function typeCheck(files: Record<string, string>, name: string): Promise<TscResult> {
    for (const [file, source] of Object.entries(files)) await writeFile(path.join(project, 'sequences', file), source);
    const tsconfig = `tsconfig.${name}.json`;
    await writeFile(
      path.join(project, tsconfig),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [] },
        files: Object.keys(files).map((f) => `sequences/${f}`),
      }),
    );
    try {
      const r = await run(process.execPath, [TSC, '--noEmit', '-p', tsconfig], { cwd: project });
      return { code: 0, output: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-pack-'));
    // dist/ is built above; the prepare script would only build it again.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    project = path.join(work, 'project');
    await mkdir(path.join(project, 'sequences'), { recursive: true });
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'acme-nurture', private: true, type: 'module' }));
    // --prefer-offline: every dependency is in the npm cache since `npm ci`; the registry only for a miss.
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error', path.join(work, filename)], {
      cwd: project,
      maxBuffer: 64 * 1024 * 1024,
    });
    const header = `import { defineSequence } from '${pkg.name}';\n\n`;
    const [valid, invalid] = await Promise.all([
      typeCheck(
        {
          // as the README shows it
          'webinar.ts': `${header}export default defineSequence({
  id: 'webinar-follow-up',
  trigger: { event: 'webinar_attended' },
  steps: [{ email: 'webinar-thanks' }, { wait: '2 days' }, { call: { note: 'How was the webinar?' } }],
});
`,
          'every-kind.ts': `${header}export default defineSequence({
  id: 'every-kind',
  trigger: [{ event: 'opt_in', where: { source: ['website', 'webinar'] } }],
  reentry: { after: '90 days' },
  exit: [{ event: 'unsubscribed' }, { promoted: 'lead' }],
  send_window: { days: 'weekdays', from: '09:00', to: '17:00' },
  steps: [
    { email: 'welcome' },
    { wait: { until: '09:30', on: ['mon', 'tue'] } },
    { wait_for: { event: 'email_clicked', step: 'welcome', timeout: '3 days' }, on_event: [{ tag: 'engaged' }], on_timeout: [{ email: 'nudge' }] },
    { if: { any: [{ tag: 'vip' }, { score: { gte: 10 } }, { not: { attribute: 'plan', in: ['free'] } }] }, then: [{ call: { note: 'Call', priority: 'high' } }], else: [{ postcard: 'hello', due: '2 days' }] },
    { repeat: { every: '1 month', times: 18, steps: [{ email: 'monthly', send_window: { from: '09:00', to: '17:00' } }] } },
    { set: { stage: 'warm', old: null } },
    { untag: ['a', 'b'] },
    { start: 'other-sequence' },
    { notify: { note: 'Hot', to: 'sales' } },
    { letter: { template: 'letter', due: '1 week' } },
  ],
});
`,
        },
        'valid',
      ),
      typeCheck(
        {
          'not-a-step.ts': `${header}export default defineSequence({
  id: 'broken',
  trigger: { event: 'opt_in' },
  steps: [42, { emial: 'welcome' }],
});
`,
          'misspelled.ts': `${header}export default defineSequence({
  id: 'broken',
  trigger: { event: 'opt_in' },
  steps: [{ email: 'welcome' }, { emial: 'w' }],
});
`,
        },
        'invalid',
      ),
    ]);
    checks = { valid, invalid };
  }, 240_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installs under its own name, with the JSON Schema where the README says', async () => {
    // `nurture` on the registry is an unrelated package: `import ... from 'nurture'` would get that one.
    expect(pkg.name).not.toBe('nurture');
    const installed = path.join(project, 'node_modules', pkg.name);
    expect(JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8'))).toMatchObject({ name: pkg.name, version: pkg.version, bin: { nurture: 'dist/cli/main.js' } });
    expect(existsSync(path.join(installed, 'schema/sequence.schema.json'))).toBe(true);
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`$schema=../node_modules/${pkg.name}/schema/sequence.schema.json`);
    expect(readme).toContain(`import { defineSequence } from '${pkg.name}';`);
  });

  it("type-checks valid sequences, the README's among them", () => {
    expect(checks.valid.output).toBe('');
    expect(checks.valid.code).toBe(0);
  });

  it('rejects steps: [42, { emial: ... }] at type-check time, naming the problem', () => {
    expect(checks.invalid.code).not.toBe(0);
    expect(checks.invalid.output).toMatch(/sequences\/not-a-step\.ts\(6,\d+\): error TS\d+: Type 'number' is not assignable to type 'SequenceStep'/);
  });

  it('names a misspelled step key', () => {
    expect(checks.invalid.output).toMatch(/sequences\/misspelled\.ts\(6,\d+\): error TS\d+:/);
    expect(checks.invalid.output).toContain("'emial' does not exist in type 'SequenceStep'");
  });

  it('imports at run time by its name, with the event contract for producers', async () => {
    await writeFile(
      path.join(project, 'producer.mjs'),
      `import { defineSequence, eventSchema, EVENTS_QUEUE } from '${pkg.name}';
const ok = eventSchema.safeParse({ id: 'e1', type: 'opt_in', occurredAt: '2026-11-22T10:00:00Z', contact: { email: 'a@example.com' } }).success;
console.log(JSON.stringify({ defineSequence: typeof defineSequence, ok, queue: EVENTS_QUEUE }));`,
    );
    const r = await run(process.execPath, ['producer.mjs'], { cwd: project });
    expect(JSON.parse(r.stdout)).toEqual({ defineSequence: 'function', ok: true, queue: 'nurture-events' });
  });
});
