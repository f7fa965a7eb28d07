import type { FileProblem } from '../errors.js';
import { TemplateError } from '../errors.js';
import { loadSequences } from '../sequences/load.js';
import { checkTemplateVariables } from '../templates/check-variables.js';
import { loadTemplate } from '../templates/template-files.js';
import type { TemplateSource } from '../templates/template-files.js';
import type { PublishableSequence } from './published-templates.js';
import { withSources } from './published-templates.js';

export interface ProjectCheck {
  /** With the templates they name attached, and version ids that cover them (what publishing stores). */
  sequences: PublishableSequence[];
  problems: FileProblem[];
  templatesChecked: number;
}

/**
 * Everything `nurture validate` (and `nurture start`, before it touches anything) checks:
 * each sequence file, the sequences it starts, and every template it names, including the
 * variables those templates use.
 */
export async function validateProject(sequencesDir: string, templatesDir: string): Promise<ProjectCheck> {
  const { sequences, problems } = await loadSequences(sequencesDir);
  const ids = new Set(sequences.map((s) => s.program.sequenceId));
  const uses = new Map<string, { email: boolean; file: string; step: string }>();
  for (const s of sequences) {
    for (const ins of s.program.instructions) {
      if (ins.op === 'start' && !ids.has(ins.sequence)) {
        problems.push({ file: s.file, path: `step ${ins.stepId}`, message: `starts sequence "${ins.sequence}", which no file defines`, severity: 'error' });
      }
      if (ins.op === 'email' || ins.op === 'mail_task') {
        const prev = uses.get(ins.template);
        uses.set(ins.template, { email: (prev?.email ?? false) || ins.op === 'email', file: s.file, step: ins.stepId });
      }
    }
  }
  const sources = new Map<string, TemplateSource>();
  for (const [name, use] of uses) {
    try {
      const src = await loadTemplate(templatesDir, name);
      sources.set(name, src);
      problems.push(...checkTemplateVariables(src, { requireSubject: use.email }));
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(...err.problems.map((p) => ({ ...p, message: `${p.message} (used by step ${use.step} of ${use.file})` })));
    }
  }
  return { sequences: sequences.map((s) => withSources(s, sources)), problems, templatesChecked: uses.size };
}
