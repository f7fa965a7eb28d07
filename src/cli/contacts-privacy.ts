import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withApp, withReadDb } from '../app/composition-root.js';
import type { EraseOutcome } from '../app/erase-contact.js';
import { eraseContact } from '../app/erase-contact.js';
import { contactExport } from '../queries/contact-export.js';
import { emit } from './format.js';
import { action, config, stdout } from './shared.js';

/**
 * Data subject requests: `nurture contacts export EMAIL` (everything held about the person, as
 * JSON) and `nurture contacts erase EMAIL [--yes]` (their data removed, the address kept only as
 * a hash on the suppression list so it is never mailed again).
 */
export function registerPrivacy(contacts: Command): void {
  contacts
    .command('export')
    .description('everything held about one person, as JSON: contact, events, touches, tasks, enrollments, stage changes, consent records, suppressions')
    .argument('<email>', 'the address (matched case-insensitively)')
    .option('--output <file>', 'write the JSON to this file (readable by you only) instead of stdout')
    .option('--json', 'print JSON (what export always prints)')
    .action(
      action(async (email: string, o: { output?: string; json?: boolean }) => {
        const data = await withReadDb(config(), (db) => contactExport(db, email, new Date()));
        if (!o.output) return stdout.json(data);
        await writeFile(o.output, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
        emit({ data: { email: data.email, output: o.output }, text: `wrote everything held about ${data.email} to ${o.output}` }, o.json);
      }),
    );
  contacts
    .command('erase')
    .description("remove a person's data (name, phone, address, attributes, event data, subjects, task contents, consent IPs); the address stays suppressed, as a hash, for good")
    .argument('<email>', 'the address (matched case-insensitively)')
    .option('--yes', 'erase; without it, show what would be erased and change nothing')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { yes?: boolean; json?: boolean }) => {
        const r = await withApp(config(), (app) => eraseContact(app, email, DateTime.utc(), { apply: o.yes ?? false }));
        emit({ data: r, text: eraseText(r) }, o.json);
      }),
    );
}

function eraseText(r: EraseOutcome): string {
  if (r.status === 'already_erased') return `${r.email} was erased before: nothing is held but its hash on the suppression list`;
  const c = r.counts;
  const what = `${c.events} event(s), ${c.touches} touch(es), ${c.tasks} task(s), ${c.enrollments} enrollment(s), ${c.consentRecords} consent record(s), ${c.failedEvents} rejected event(s)`;
  if (r.status === 'preview') {
    return [
      `erasing ${r.email} would clear the contact's name, phone, address, attributes and tags, and the personal data of ${what};`,
      'active enrollments would end and nothing more would be sent; the address would stay on the suppression list as a hash only.',
      `Nothing changed. Run again with --yes to erase (export it first if the person asked for a copy: nurture contacts export ${r.email}).`,
    ].join('\n');
  }
  return `${r.email} erased (contact kept as ${r.erasedAs} for the figures): personal data of ${what} cleared; the address is suppressed for good and the erase is in the consent history`;
}
