import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FileProblem } from '../errors.js';
import { TemplateError } from '../errors.js';
import { loadSequences } from '../sequences/load.js';
import { closestNames, didYouMean } from '../sequences/suggest.js';
import type { Topic } from '../sequences/topics.js';
import { checkTemplateVariables } from '../templates/check-variables.js';
import { loadTemplate, templateFilePaths } from '../templates/template-files.js';
import type { TemplateSource } from '../templates/template-files.js';
import type { PublishableSequence } from '../engine/published-templates.js';
import { withSources } from '../engine/published-templates.js';

export interface ProjectCheck {
  /** With the templates they name attached, and version ids that cover them (what publishing stores). */
  sequences: PublishableSequence[];
  problems: FileProblem[];
  templatesChecked: number;
}

/** A step that names a template: where it is, so a missing template is reported there. */
interface TemplateUse {
  email: boolean;
  file: string;
  step: string;
  path: string;
  line: number | undefined;
}

/**
 * Everything `nurture validate` (and `nurture start`, before it touches anything) checks:
 * each sequence file, the sequences it starts, and every template it names, including the
 * variables those templates use. A name that points nowhere is reported at the step that
 * writes it (file:line), with the closest name that exists.
 */
export async function validateProject(sequencesDir: string, templatesDir: string, topics: readonly Topic[] = []): Promise<ProjectCheck> {
  const { sequences, problems } = await loadSequences(sequencesDir);
  const ids = [...new Set(sequences.map((s) => s.program.sequenceId))];
  const topicIds = topics.map((t) => t.id);
  const uses = new Map<string, TemplateUse[]>();
  for (const s of sequences) {
    const topic = s.program.definition.topic;
    if (topic !== undefined && !topicIds.includes(topic)) {
      const declared = topicIds.length > 0 ? `declared: ${topicIds.join(', ')}` : 'no topics are declared (topics.yaml, --topics FILE)';
      const message = `topic "${topic}" is not declared in the topics file (${declared})${didYouMean(closestNames(topic, topicIds))}`;
      problems.push({ file: s.file, path: 'topic', line: s.lineOf?.('topic'), message, severity: 'error' });
    }
    const where = (stepId: string, field: string) => {
      const at = `${s.program.stepPaths.get(stepId) ?? `step ${stepId}`}.${field}`;
      return { file: s.file, path: at, line: s.lineOf?.(at) };
    };
    for (const ins of s.program.instructions) {
      if (ins.op === 'start' && !ids.includes(ins.sequence)) {
        const message = `starts sequence "${ins.sequence}", which no file defines${didYouMean(closestNames(ins.sequence, ids))}`;
        problems.push({ ...where(ins.stepId, 'start'), message, severity: 'error' });
      }
      if (ins.op === 'email' || ins.op === 'mail_task') {
        const use = { ...where(ins.stepId, ins.op === 'email' ? 'email' : ins.medium), email: ins.op === 'email', step: ins.stepId };
        uses.set(ins.template, [...(uses.get(ins.template) ?? []), use]);
      }
    }
  }
  let existing: string[] | undefined;
  const sources = new Map<string, TemplateSource>();
  for (const [name, all] of uses) {
    try {
      const src = await loadTemplate(templatesDir, name);
      sources.set(name, src);
      problems.push(...checkTemplateVariables(src, { requireSubject: all.some((u) => u.email) }));
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const { htmlFile } = templateFilePaths(templatesDir, name);
      if (await isMissing(htmlFile)) {
        existing ??= await templateNames(templatesDir);
        const message = `template "${name}" not found (no ${htmlFile})${didYouMean(closestNames(name, existing))}`;
        problems.push(...all.map((u) => ({ file: u.file, path: u.path, line: u.line, message, severity: 'error' as const })));
        continue;
      }
      const first = all[0]!;
      const usedBy = `(used by ${first.path} of ${first.file}${first.line ? `:${first.line}` : ''})`;
      problems.push(...err.problems.map((p) => ({ ...p, message: `${p.message} ${usedBy}` })));
    }
  }
  return { sequences: sequences.map((s) => withSources(s, sources)), problems, templatesChecked: uses.size };
}

async function isMissing(file: string): Promise<boolean> {
  try {
    await access(file);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Every template name in the folder ("welcome", "mail/guide"), for suggestions. */
async function templateNames(dir: string): Promise<string[]> {
  try {
    const files = await readdir(dir, { recursive: true });
    return files
      .filter((f) => f.endsWith('.hbs') && !f.endsWith('.txt.hbs'))
      .map((f) => f.slice(0, -'.hbs'.length).split(path.sep).join('/'))
      .sort();
  } catch {
    // No templates folder: loadTemplate's own message already says so; nothing to suggest.
    return [];
  }
}
