import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { renderTemplate } from '../app/render-template.js';
import type { RenderedTemplate } from '../app/render-template.js';
import { ConfigError, formatProblem } from '../errors.js';
import { EXIT_INVALID, action, config, stdout } from './shared.js';

/** `nurture render TEMPLATE`: the message one template makes for one contact (src/app/render-template.ts). */

/** The parsed JSON of a file given to a flag, with the flag and file named when it cannot be read. */
export async function readJsonFile(flag: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${flag}: cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

export function problemLines(r: RenderedTemplate): string[] {
  return r.problems.map((p) => formatProblem(p));
}

export function renderedText(r: RenderedTemplate): string {
  return [`Subject: ${r.message.subject}`, '', '--- text ---', r.message.text.trimEnd(), '', '--- html ---', r.message.html.trimEnd()].join('\n');
}

export function register(program: Command): void {
  program
    .command('render')
    .description('print the message a template makes for one contact: subject, plain text and HTML (no Redis or database needed)')
    .argument('<template>', 'template name, e.g. welcome or onboarding/day-1')
    .option('--contact <file>', 'JSON contact, shaped like an event\'s "contact" (default: a sample contact, Ann Example)')
    .option('--templates <dir>', 'directory of templates', './templates')
    .option('--json', 'print JSON: { template, to, subject, text, html, problems }')
    .action(
      action(async (name: string, o: { contact?: string; templates: string; json?: boolean }) => {
        const contact = o.contact === undefined ? undefined : await readJsonFile('--contact', o.contact);
        const r = await renderTemplate({ templatesDir: o.templates, name, contact, contactName: o.contact, config: config(), now: DateTime.utc() });
        if (o.json) stdout.json({ template: r.template, to: r.to, ...r.message, problems: r.problems });
        else {
          stdout.line(renderedText(r));
          for (const line of problemLines(r)) stdout.error(line);
        }
        return r.problems.some((p) => p.severity === 'error') ? EXIT_INVALID : 0;
      }),
    );
}
