import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withApp } from '../app/composition-root.js';
import type { AppContext } from '../app/context.js';
import type { StaffAccountListing } from '../app/manage-staff-accounts.js';
import { addStaffAccount, changeStaffPassword, disableStaffAccount, enableStaffAccount, staffAccountList } from '../app/manage-staff-accounts.js';
import { requireStaffUser } from '../app/staff-task-guard.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, table } from './format.js';
import { readPassword } from './password-input.js';
import { action, config, stdout } from './shared.js';
import { addDirectoryOption, teamDirectoryFrom } from './directory-option.js';

/** `nurture users add|passwd|list|disable|enable`: staff login accounts for the task inbox. */

export interface AccountView {
  email: string;
  name: string | null;
  teams: readonly string[];
  createdAt: string;
  updatedAt: string;
  disabledAt: string | null;
  inDirectory: boolean | null;
}

export interface UserChangeReport {
  account: AccountView;
  changed: boolean;
  warnings: string[];
  sessionsEnded?: number;
}

function view(a: StaffAccountListing): AccountView {
  return {
    email: a.email,
    name: a.name,
    teams: a.teams,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
    disabledAt: a.disabledAt?.toISOString() ?? null,
    inDirectory: a.inDirectory,
  };
}

async function listing(ctx: AppContext, email: string): Promise<AccountView> {
  const found = (await staffAccountList(ctx)).find((a) => a.email === email);
  return found ? view(found) : { email, name: null, teams: [], createdAt: '', updatedAt: '', disabledAt: null, inDirectory: null };
}

function who(a: AccountView): string {
  const teams = a.teams.length ? `, teams ${a.teams.join(', ')}` : '';
  return a.name ? `${a.email} (${a.name}${teams})` : a.email;
}

export async function runUsersAdd(ctx: AppContext, email: string, password: string, name: string | undefined, o: ViewOptions): Promise<Rendered<UserChangeReport>> {
  const r = await addStaffAccount(ctx, { email, password, name }, o.now);
  const account = await listing(ctx, r.account.email);
  return { data: { account, changed: true, warnings: r.warnings }, text: `account added for ${who(account)}: it can log in to the task inbox` };
}

export async function runUsersPasswd(ctx: AppContext, email: string, password: string, o: ViewOptions): Promise<Rendered<UserChangeReport>> {
  const r = await changeStaffPassword(ctx, { email, password }, o.now);
  const account = await listing(ctx, r.account.email);
  return { data: { account, changed: true, warnings: r.warnings }, text: `password changed for ${who(account)}; its browser sessions were ended` };
}

export async function runUsersDisable(ctx: AppContext, email: string, o: ViewOptions): Promise<Rendered<UserChangeReport>> {
  const r = await disableStaffAccount(ctx, email, o.now);
  const account = await listing(ctx, r.account.email);
  const text = r.changed
    ? `${who(account)} disabled: it cannot log in${r.sessionsEnded ? `; ${r.sessionsEnded} browser session${r.sessionsEnded === 1 ? '' : 's'} ended` : ''}`
    : `${account.email} was disabled already (since ${formatInstant(r.account.disabledAt!, o.zone)}); nothing changed`;
  return { data: { account, changed: r.changed, warnings: [], sessionsEnded: r.sessionsEnded }, text };
}

export async function runUsersEnable(ctx: AppContext, email: string, o: ViewOptions): Promise<Rendered<UserChangeReport>> {
  const r = await enableStaffAccount(ctx, email, o.now);
  const account = await listing(ctx, r.account.email);
  return { data: { account, changed: r.changed, warnings: [] }, text: r.changed ? `${who(account)} enabled: it can log in again` : `${account.email} is enabled already; nothing changed` };
}

export async function runUsersList(ctx: AppContext, o: ViewOptions): Promise<Rendered<AccountView[]>> {
  const data = (await staffAccountList(ctx)).map(view);
  if (data.length === 0) return { data, text: 'no staff accounts (add one with: nurture users add EMAIL)' };
  const rows = data.map((a) => [
    a.email,
    a.name ?? (a.inDirectory === false ? 'NOT IN THE DIRECTORY' : '-'),
    a.teams.join(', ') || '-',
    a.disabledAt ? `disabled ${formatInstant(new Date(a.disabledAt), o.zone)}` : 'active',
    formatInstant(new Date(a.createdAt), o.zone),
  ]);
  const off = data.filter((a) => a.disabledAt).length;
  const lines = [...table(['email', 'name', 'teams', 'status', 'created'], rows, ''), '', `${data.length} account${data.length === 1 ? '' : 's'}${off ? ` (${off} disabled)` : ''}`];
  return { data, text: lines.join('\n') };
}

function printWarnings(r: Rendered<UserChangeReport>): void {
  for (const w of r.data.warnings) stdout.error(`warning: ${w}`);
}

export function register(program: Command): void {
  const users = program.command('users').description('staff login accounts for the task inbox: add, passwd, list, disable, enable');
  addDirectoryOption(
    users
      .command('add')
      .description('create an account; the password is asked for (no echo), or read from stdin when it is not a terminal')
      .argument('<email>', 'a user of the team directory')
      .option('--name <name>', "the user's name (checked against the directory, which has the last word)")
      .option('--password-stdin', 'read the password from standard input, even at a terminal'),
  )
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, f: { name?: string; passwordStdin?: boolean; directory: string; json?: boolean }) => {
        const staff = await teamDirectoryFrom(f.directory);
        // A typo is said before anyone types a password for it.
        if (staff) requireStaffUser(staff, email);
        const password = await readPassword({ fromStdin: f.passwordStdin === true, prompt: `Password for ${email}: ` });
        const r = await withApp(config(), (app) => runUsersAdd(app, email, password, f.name, { now: DateTime.now() }), { staff });
        printWarnings(r);
        emit(r, f.json);
      }),
    );
  addDirectoryOption(
    users
      .command('passwd')
      .description("set a new password (its browser sessions end); asked for at a terminal, else read from stdin")
      .argument('<email>', 'an account')
      .option('--password-stdin', 'read the password from standard input, even at a terminal'),
  )
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, f: { passwordStdin?: boolean; directory: string; json?: boolean }) => {
        const staff = await teamDirectoryFrom(f.directory);
        const password = await readPassword({ fromStdin: f.passwordStdin === true, prompt: `New password for ${email}: ` });
        const r = await withApp(config(), (app) => runUsersPasswd(app, email, password, { now: DateTime.now() }), { staff });
        printWarnings(r);
        emit(r, f.json);
      }),
    );
  addDirectoryOption(users.command('list').description('every account: name and teams from the directory, active or disabled'))
    .option('--json', 'print JSON')
    .action(
      action(async (f: { directory: string; json?: boolean }) => {
        const staff = await teamDirectoryFrom(f.directory);
        emit(await withApp(config(), (app) => runUsersList(app, { now: DateTime.now() }), { staff }), f.json);
      }),
    );
  for (const [name, run, what] of [
    ['disable', runUsersDisable, 'no more logins; its browser sessions end now'],
    ['enable', runUsersEnable, 'allow logins again'],
  ] as const) {
    addDirectoryOption(users.command(name).description(what).argument('<email>', 'an account'))
      .option('--json', 'print JSON')
      .action(
        action(async (email: string, f: { directory: string; json?: boolean }) => {
          const staff = await teamDirectoryFrom(f.directory);
          emit(await withApp(config(), (app) => run(app, email, { now: DateTime.now() }), { staff }), f.json);
        }),
      );
  }
}
