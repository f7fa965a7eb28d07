import type { Command } from 'commander';
import { staffCalendarUrl } from '../app/staff-calendar-url.js';
import { ConfigError, formatProblem } from '../errors.js';
import { MessageLinks } from '../security/message-links.js';
import { loadTeamDirectory } from '../staff/load-team.js';
import { emit } from './format.js';
import { action, config } from './shared.js';

/** `nurture ics-url EMAIL [--directory FILE]`: the calendar feed address of a staff user, to paste into their calendar app. */
export function register(program: Command): void {
  program
    .command('ics-url')
    .description("print a staff user's calendar feed URL (their open call tasks as events, GET /ics/TOKEN.ics)")
    .argument('<email>', 'a user of the team directory')
    .option('--directory <file>', 'the team directory', './team.yaml')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, f: { directory: string; json?: boolean }) => {
        const loaded = await loadTeamDirectory(f.directory);
        if (!loaded.ok) throw new ConfigError(loaded.problems.map(formatProblem).join('\n'));
        if (!loaded.value) throw new ConfigError(`${f.directory}: no such file: the calendar feeds are for the users of a team directory (--directory FILE)`);
        const cfg = config();
        const url = staffCalendarUrl(new MessageLinks(cfg), loaded.value, email);
        emit({ data: { email: email.trim().toLowerCase(), url }, text: url }, f.json);
      }),
    );
}
