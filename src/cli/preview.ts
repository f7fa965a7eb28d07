import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { ConfigError, formatProblem } from '../errors.js';
import type { FileProblem } from '../errors.js';
import type { PreviewData, PreviewInput } from '../queries/sequence-preview.js';
import { WHEN, plural, sequencePreview } from '../queries/sequence-preview.js';
import type { Rendered } from './format.js';
import { EXIT_INVALID, action, config, stdout } from './shared.js';

/** `nurture preview`: the read model in src/queries/sequence-preview.ts, as a timeline for people or JSON. */

export async function previewSequence(input: PreviewInput): Promise<Rendered<PreviewData> & { problems: FileProblem[] }> {
  const { data, start } = await sequencePreview(input);
  return { data, text: previewText(data, start), problems: data.problems };
}

function previewText(d: PreviewData, start: DateTime): string {
  const name = [d.contact.firstName, d.contact.lastName].filter(Boolean).join(' ');
  const rows = d.entries.map((e) => [DateTime.fromISO(e.at, { zone: d.zone }).toFormat(WHEN), `day ${e.day}`, e.kind, e.step ?? '', e.text]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  const outcome = d.reason && d.reason !== d.outcome ? `${d.outcome} (${d.reason})` : d.outcome;
  return [
    `${d.sequence} (version ${d.version}) for ${name ? `${name} <${d.contact.email}>` : d.contact.email}, in ${d.zone}, from ${start.toFormat(WHEN)}`,
    '',
    ...rows.map((r) => r.map((cell, c) => (c < 4 ? cell.padEnd(widths[c]!) : cell)).join('  ').trimEnd()),
    '',
    `Summary: ${d.summary.text}`,
    `Outcome: ${outcome}`,
    ...(d.problems.length ? ['', `${plural(d.problems.length, 'problem')}:`, ...d.problems.map((p) => `  ${formatProblem(p)}`)] : []),
  ].join('\n');
}

async function readInput(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${flag}: cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err });
  }
}

export function register(program: Command): void {
  program
    .command('preview')
    .description("print a sequence's whole life for one contact: every touch and task with rendered subjects, in the contact's zone (no Redis or database needed)")
    .argument('<file>', 'sequence file (.yaml, .yml, .ts, .js)')
    .option('--contact <file>', 'JSON contact, shaped like an event\'s "contact" (default: a sample contact, Ann Example)')
    .option('--events <file>', 'YAML events script, e.g. - "day 3: email_clicked on buyers-guide"')
    .option('--from <instant>', "start of the enrollment, ISO 8601 in the contact's zone, e.g. 2026-11-22T10:00 (default: now)")
    .option('--zone <zone>', "the contact's time zone (default: the contact's, the sequence's, or NURTURE_DEFAULT_TIMEZONE)")
    .option('--templates <dir>', 'directory of templates', './templates')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, o: { contact?: string; events?: string; from?: string; zone?: string; templates: string; json?: boolean }) => {
        let contact: unknown;
        if (o.contact !== undefined) {
          const text = await readInput('--contact', o.contact);
          try {
            contact = JSON.parse(text);
          } catch (err) {
            throw new ConfigError(`${o.contact}: not valid JSON: ${(err as Error).message}`);
          }
        }
        const script = o.events === undefined ? undefined : { text: await readInput('--events', o.events), file: o.events };
        const cfg = config();
        const result = await previewSequence({ file, templatesDir: o.templates, contact, contactName: o.contact, zone: o.zone, script, from: o.from, config: cfg });
        if (o.json) stdout.json(result.data);
        else stdout.line(result.text);
        return result.problems.some((p) => p.severity === 'error') ? EXIT_INVALID : 0;
      }),
    );
}
