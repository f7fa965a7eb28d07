import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { sendTestMessage } from '../app/render-template.js';
import { ConfigError } from '../errors.js';
import { problemLines, readJsonFile } from './render.js';
import { action, config, stdout } from './shared.js';

/** `nurture send-test TEMPLATE --to ADDR`: one rendered template, sent through the configured transport. */

const address = z.email();

export function register(program: Command): void {
  program
    .command('send-test')
    .description('render a template for one contact and send it to an address through SMTP_URL (or the outbox folder without it)')
    .argument('<template>', 'template name, e.g. welcome')
    .requiredOption('--to <address>', 'where the test message goes')
    .option('--contact <file>', 'JSON contact, shaped like an event\'s "contact" (default: a sample contact, Ann Example)')
    .option('--templates <dir>', 'directory of templates', './templates')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, o: { to: string; contact?: string; templates: string; json?: boolean }) => {
        if (!address.safeParse(o.to).success) throw new ConfigError(`--to: "${o.to}" is not an email address`);
        const contact = o.contact === undefined ? undefined : await readJsonFile('--contact', o.contact);
        const r = await sendTestMessage({ templatesDir: o.templates, name, to: o.to, contact, contactName: o.contact, config: config(), now: DateTime.utc() });
        for (const line of problemLines(r)) stdout.error(line);
        if (o.json) stdout.json({ template: r.template, to: o.to, subject: r.message.subject, messageId: r.sent.messageId, accepted: r.sent.accepted, response: r.sent.response, via: r.via });
        else stdout.line(`sent "${r.message.subject}" (${r.template}) to ${o.to} via ${r.via}: ${r.sent.response}`);
        return r.sent.accepted ? 0 : 1;
      }),
    );
}
