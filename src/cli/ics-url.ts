import type { Command } from 'commander';
import { staffCalendarUrl } from '../app/staff-calendar-url.js';
import { MessageLinks } from '../security/message-links.js';
import { addDirectoryOption, requiredTeamDirectory } from './directory-option.js';
import { emit } from './format.js';
import { action, config } from './shared.js';

/** `nurture ics-url EMAIL [--directory FILE]`: the calendar feed address of a staff user, to paste into their calendar app. */
export function register(program: Command): void {
  addDirectoryOption(program.command('ics-url'))
    .description("print a staff user's calendar feed URL (their open call tasks as events, GET /ics/TOKEN.ics)")
    .argument('<email>', 'a user of the team directory')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, f: { directory: string; json?: boolean }) => {
        const dir = await requiredTeamDirectory(f.directory, 'a calendar feed');
        const url = staffCalendarUrl(new MessageLinks(config()), dir, email);
        emit({ data: { email: email.trim().toLowerCase(), url }, text: url }, f.json);
      }),
    );
}
