import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { addStaffAccount, changeStaffPassword, disableStaffAccount, enableStaffAccount } from '../../src/app/manage-staff-accounts.js';
import { verifyStaffLogin } from '../../src/app/verify-staff-login.js';
import { runUsersList } from '../../src/cli/users.js';
import { ConflictError, InputError, NotFoundError } from '../../src/errors.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import type { CliStore } from '../support/cli-store.js';
import { createCliStore } from '../support/cli-store.js';
import { buildCli, runCli } from '../support/cli.js';
import { createLogger } from '../../src/logger.js';
import { sweeperScheduler } from '../../src/app/scheduler.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';

/** Staff accounts against real PostgreSQL: argon2id hashes, login checks, and the compiled `nurture users` and `nurture tasks claim`. */

const TEAM_YAML = `
zone: UTC
teams:
  sales: {}
  office: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
  olive@example.com: { name: Olive Brandt, teams: [office] }
`;

const NOW = DateTime.fromISO('2026-11-23T10:00:00Z', { zone: 'utc' });
const PASSWORD = 'correct horse battery staple';

describe('staff accounts', () => {
  let cli: CliStore;
  let dir: TeamDirectory;
  let ctx: AppContext;
  let teamFile: string;

  const stored = (email: string) => cli.store.db.selectFrom('staff_accounts').selectAll().where('email', '=', email).executeTakeFirst();
  const addSession = (email: string, token: string) =>
    cli.store.db.insertInto('staff_sessions').values({ token_hash: token, email, csrf_token: 'c', expires_at: NOW.plus({ days: 1 }).toJSDate() }).execute();
  const sessions = async (email: string) => (await cli.store.db.selectFrom('staff_sessions').select('token_hash').where('email', '=', email).execute()).length;

  beforeAll(async () => {
    buildCli();
    cli = await createCliStore();
    const parsed = parseTeamDirectory(TEAM_YAML, 'team.yaml');
    if (!parsed.ok || !parsed.value) throw new Error('team.yaml does not parse');
    dir = parsed.value;
    // Only the database is used by these use cases.
    ctx = { deps: { db: cli.store.db } as unknown as EngineDeps, scheduler: sweeperScheduler, log: createLogger('silent'), staff: dir };
    teamFile = path.join(cli.dir, 'team.yaml');
    await writeFile(teamFile, TEAM_YAML);
  }, 120_000);

  afterAll(async () => {
    await cli?.cleanup();
  });

  it('add stores an argon2id hash, never the password, and the login verifies only the right password', async () => {
    const r = await addStaffAccount(ctx, { email: 'Bob@Example.com', password: PASSWORD }, NOW);
    expect(r.warnings).toEqual([]);
    expect(r.user?.name).toBe('Bob Rivera');
    const row = await stored('bob@example.com');
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(row!.password_hash).not.toContain(PASSWORD);
    expect(row!.created_at.toISOString()).toBe(NOW.toJSDate().toISOString());

    const ok = await verifyStaffLogin(ctx, 'BOB@example.com', PASSWORD);
    expect(ok).toMatchObject({ account: { email: 'bob@example.com', disabledAt: null }, user: { name: 'Bob Rivera', teams: ['sales'] } });
    expect(ok!.account).not.toHaveProperty('password_hash');
    expect(await verifyStaffLogin(ctx, 'bob@example.com', `${PASSWORD}!`)).toBeUndefined();
    expect(await verifyStaffLogin(ctx, 'nobody@example.com', PASSWORD)).toBeUndefined();
    expect(await verifyStaffLogin(ctx, 'bob@example.com', '')).toBeUndefined();
  });

  it('refuses a second account, a user not in the directory (did you mean), a short password; warns without a directory', async () => {
    await expect(addStaffAccount(ctx, { email: 'bob@example.com', password: PASSWORD }, NOW)).rejects.toThrow(ConflictError);
    await expect(addStaffAccount(ctx, { email: 'olvie@example.com', password: PASSWORD }, NOW)).rejects.toThrow('no user "olvie@example.com" in team.yaml: did you mean "olive@example.com"?');
    await expect(addStaffAccount(ctx, { email: 'olive@example.com', password: 'short' }, NOW)).rejects.toThrow('olive@example.com: the password is 5 characters: at least 12, please');
    await expect(addStaffAccount(ctx, { email: 'not-an-email', password: PASSWORD }, NOW)).rejects.toThrow(InputError);
    expect(await stored('olive@example.com')).toBeUndefined();

    const loose = await addStaffAccount({ ...ctx, staff: undefined }, { email: 'temp@example.com', password: PASSWORD }, NOW);
    expect(loose.warnings).toEqual([expect.stringContaining('no team directory was read: temp@example.com could not be checked')]);
    // With the directory, an account whose user is not in it cannot log in.
    expect(await verifyStaffLogin(ctx, 'temp@example.com', PASSWORD)).toBeUndefined();
    expect(await verifyStaffLogin({ ...ctx, staff: undefined }, 'temp@example.com', PASSWORD)).toMatchObject({ account: { email: 'temp@example.com' } });
  });

  it('passwd replaces the hash and ends the browser sessions; the old password no longer works', async () => {
    await addSession('bob@example.com', 'session-1');
    const before = (await stored('bob@example.com'))!.password_hash;
    const newPassword = 'a much longer new password';

    await changeStaffPassword(ctx, { email: 'bob@example.com', password: newPassword }, NOW.plus({ hours: 1 }));

    const after = (await stored('bob@example.com'))!;
    expect(after.password_hash).not.toBe(before);
    expect(after.password_hash.startsWith('$argon2id$')).toBe(true);
    expect(after.updated_at.toISOString()).toBe(NOW.plus({ hours: 1 }).toJSDate().toISOString());
    expect(await sessions('bob@example.com')).toBe(0);
    expect(await verifyStaffLogin(ctx, 'bob@example.com', PASSWORD)).toBeUndefined();
    expect(await verifyStaffLogin(ctx, 'bob@example.com', newPassword)).toBeDefined();
    await expect(changeStaffPassword(ctx, { email: 'olive@example.com', password: newPassword }, NOW)).rejects.toThrow(NotFoundError);
  });

  it('disable ends sessions and refuses the right password; enable lets it in again', async () => {
    const password = 'a much longer new password';
    await addSession('bob@example.com', 'session-2');
    const d = await disableStaffAccount(ctx, 'bob@example.com', NOW);
    expect(d).toMatchObject({ changed: true, sessionsEnded: 1 });
    expect(await verifyStaffLogin(ctx, 'bob@example.com', password)).toBeUndefined();
    expect((await disableStaffAccount(ctx, 'bob@example.com', NOW)).changed).toBe(false);

    const list = await runUsersList(ctx, { now: NOW, zone: 'UTC' });
    expect(list.data.map((a) => [a.email, a.name, a.disabledAt !== null, a.inDirectory])).toEqual([
      ['bob@example.com', 'Bob Rivera', true, true],
      ['temp@example.com', null, false, false],
    ]);
    expect(list.text).toMatch(/^bob@example\.com\s+Bob Rivera\s+sales\s+disabled 2026-11-23 10:00 UTC/m);
    expect(list.text).toMatch(/^temp@example\.com\s+NOT IN THE DIRECTORY/m);

    expect((await enableStaffAccount(ctx, 'bob@example.com', NOW)).changed).toBe(true);
    expect(await verifyStaffLogin(ctx, 'bob@example.com', password)).toBeDefined();
  });

  describe('the compiled CLI', () => {
    it('users add reads the password from stdin when it is not a terminal, passwd with --password-stdin, list --json', async () => {
      const add = await runCli(['users', 'add', 'olive@example.com', '--directory', teamFile, '--json'], { env: cli.env, input: `${PASSWORD}\n` });
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
      expect(JSON.parse(add.stdout)).toMatchObject({ changed: true, warnings: [], account: { email: 'olive@example.com', name: 'Olive Brandt', teams: ['office'], disabledAt: null } });
      expect((await stored('olive@example.com'))!.password_hash.startsWith('$argon2id$')).toBe(true);
      expect(await verifyStaffLogin(ctx, 'olive@example.com', PASSWORD)).toBeDefined();

      const typo = await runCli(['users', 'add', 'olvie@example.com', '--directory', teamFile], { env: cli.env, input: `${PASSWORD}\n` });
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain('did you mean "olive@example.com"?');

      const passwd = await runCli(['users', 'passwd', 'olive@example.com', '--password-stdin', '--directory', teamFile], { env: cli.env, input: 'another long password\n' });
      expect(passwd.code).toBe(0);
      expect(passwd.stdout).toContain('password changed for olive@example.com (Olive Brandt, teams office)');
      expect(await verifyStaffLogin(ctx, 'olive@example.com', 'another long password')).toBeDefined();

      const list = await runCli(['users', 'list', '--directory', teamFile, '--json'], { env: cli.env });
      expect(list.code).toBe(0);
      expect((JSON.parse(list.stdout) as { email: string }[]).map((a) => a.email)).toEqual(['bob@example.com', 'olive@example.com', 'temp@example.com']);
    }, 60_000);

    it('tasks claim --json as a user of the directory, and a claim from another team exits 1 and says why', async () => {
      const contact = await cli.store.db.insertInto('contacts').values({ email: 'lead@example.com', attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
      const task = await cli.store.db
        .insertInto('tasks')
        .values({ touch_id: null, contact_id: contact.id, enrollment_id: null, kind: 'call', priority: 'high', status: 'open', title: 'Call the lead', note: null, content: null, address: null, phone: '+15555550123', history: '[]', due_at: NOW.toJSDate(), team: 'sales' })
        .returning('id')
        .executeTakeFirstOrThrow();

      const wrong = await runCli(['tasks', 'claim', String(task.id), '--as', 'olive@example.com', '--directory', teamFile], { env: cli.env });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain(`task ${task.id} is in team sales's queue: olive@example.com is not in team sales`);

      const claim = await runCli(['tasks', 'claim', String(task.id), '--as', 'bob@example.com', '--directory', teamFile, '--json'], { env: cli.env });
      expect(claim.stderr).toBe('');
      expect(claim.code).toBe(0);
      const report = JSON.parse(claim.stdout) as Record<string, unknown>;
      expect(Object.keys(report).sort()).toEqual(['action', 'activity', 'changed', 'task']);
      expect(report).toMatchObject({ action: 'claimed', changed: true, task: { id: task.id, assignee: 'bob@example.com', team: 'sales' }, activity: { actor: 'bob@example.com', action: 'claimed' } });

      const skip = await runCli(['tasks', 'skip', String(task.id), '--reason', 'called us first', '--json'], { env: cli.env });
      expect(skip.code).toBe(0);
      expect(JSON.parse(skip.stdout)).toMatchObject({ action: 'skipped', task: { status: 'skipped' }, activity: { actor: 'cli', reason: 'called us first' } });
      const again = await runCli(['tasks', 'snooze', String(task.id), '--for', '1 hour', '--reason', 'x'], { env: cli.env });
      expect(again.code).toBe(5);
      expect(again.stderr).toMatch(new RegExp(`task ${task.id} is skipped \\(called us first\\) since .+: it cannot be snoozed`));

      const list = await runCli(['tasks', '--status', 'skipped', '--team', 'sales', '--json'], { env: cli.env });
      expect(list.code).toBe(0);
      expect((JSON.parse(list.stdout) as { id: number; assignee: string }[]).map((t) => [t.id, t.assignee])).toEqual([[task.id, 'bob@example.com']]);
    }, 60_000);
  });
});
