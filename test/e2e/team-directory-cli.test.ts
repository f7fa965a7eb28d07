import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/databases.js';
import { ROOT, buildCli, runCli } from '../support/cli.js';

/** `--directory` and `nurture report speed-to-lead` as users run them: the compiled CLI. */
describe('team directory on the command line', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...env, ...extra }, cwd: work });
  const examples = path.join(ROOT, 'examples');
  const project = ['--templates', path.join(examples, 'templates'), '--topics', path.join(examples, 'topics.yaml'), '--forms', 'no-forms.yaml'];

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-team-cli-'));
    env = { PATH: process.env.PATH, NURTURE_DATA_DIR: path.join(work, '.nurture') };
    await writeFile(path.join(work, 'team.yaml'), ['teams:', '  sales: {}', 'users:', '  bob@example.com:', '    name: Bob', '    teams: [salse]', 'fallback: nobody@example.com', ''].join('\n'));
  }, 120_000);
  afterAll(async () => {
    await database?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('validate names each team.yaml problem with file:line; the example is valid', async () => {
    const bad = await cli(['validate', path.join(examples, 'sequences'), ...project, '--no-impact']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('team.yaml:6: users.bob@example.com.teams[0]: "salse" is not a team of this file: did you mean "sales"?');
    expect(bad.stdout).toContain('team.yaml:7: fallback: "nobody@example.com" is not a user of this file');
    const good = await cli(['validate', path.join(examples, 'sequences'), ...project, '--no-impact', '--directory', path.join(examples, 'team.yaml')]);
    expect(good.stdout).toContain(`ok ${path.join(examples, 'team.yaml')}: 4 user(s), 2 team(s), 4 assignment rule(s), 1 SLA rule(s), fallback carol@example.com`);
    expect(good.code).toBe(0);
  });

  it('start refuses to start on team.yaml problems', async () => {
    const r = await cli(['start', '--sequences', path.join(examples, 'sequences'), ...project]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('team.yaml:6: users.bob@example.com.teams[0]');
    expect(r.stderr).toContain('not starting: 2 problem(s) in ./team.yaml');
  });

  it('start refuses a --directory path that does not exist (a typo must not turn staff work off)', async () => {
    const r = await cli(['start', '--sequences', path.join(examples, 'sequences'), ...project, '--directory', 'teams.yml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not starting: teams.yml: no such file');
  });

  it('report speed-to-lead prints the figures (none yet) as text and JSON', async () => {
    database = await createTestDatabase();
    const db = { DATABASE_URL: database.url };
    expect((await cli(['migrate'], db)).code).toBe(0);
    const text = await cli(['report', 'speed-to-lead'], db);
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain('speed to lead: 0 lead call(s), SLA met 0, breached 0, pending 0');
    const json = await cli(['report', 'speed-to-lead', '--json', '--since', '7 days'], db);
    expect(JSON.parse(json.stdout)).toMatchObject({ leads: [], reps: [], total: { leads: 0, met: 0, breached: 0 } });
  });
});
