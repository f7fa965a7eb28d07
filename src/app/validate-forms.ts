import type { FileProblem } from '../errors.js';
import { TemplateError } from '../errors.js';
import type { FormsFile } from '../forms/form-config.js';
import { loadForms } from '../forms/load-forms.js';
import { checkTemplateVariables } from '../templates/check-variables.js';
import { loadTemplate } from '../templates/template-files.js';

export interface FormsCheck {
  /** Undefined when the file has errors. */
  forms: FormsFile | undefined;
  problems: FileProblem[];
}

/** The variable a confirmation email has beyond the contact's fields: the signed link to confirm. */
export const CONFIRM_URL_VARIABLE = 'confirmUrl';

/**
 * What `nurture validate --forms`, `nurture start` and `nurture api` check in the forms file:
 * its format, and that every confirmation template exists, has a subject, and uses only the
 * contact's fields and `{{confirmUrl}}`.
 */
export async function validateForms(file: string, templatesDir: string): Promise<FormsCheck> {
  const parsed = await loadForms(file);
  if (!parsed.ok) return { forms: undefined, problems: parsed.problems };
  const problems: FileProblem[] = [];
  for (const form of parsed.value.forms.values()) {
    if (!form.doubleOptIn) continue;
    const at = ['forms', form.id, 'double_opt_in', 'template'];
    const name = form.doubleOptIn.template;
    try {
      const src = await loadTemplate(templatesDir, name);
      // The checker knows the contact's fields only; the confirmation link is this email's own.
      const own = `unknown variable {{${CONFIRM_URL_VARIABLE}}} `;
      problems.push(...checkTemplateVariables(src, { requireSubject: true }).filter((p) => !p.message.startsWith(own)));
      if (![src.html, src.text ?? ''].some((part) => part.includes(CONFIRM_URL_VARIABLE))) {
        problems.push({ file, path: 'forms.' + form.id + '.double_opt_in.template', line: parsed.value.lineOf(at), message: `template "${name}" never shows {{${CONFIRM_URL_VARIABLE}}}: the person could not confirm`, severity: 'error' });
      }
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(
        ...err.problems.map((p) => ({ ...p, message: `${p.message} (the confirmation email of form ${form.id}, ${file}:${parsed.value.lineOf(at) ?? '?'})` })),
      );
    }
  }
  return { forms: problems.some((p) => p.severity === 'error') ? undefined : parsed.value, problems };
}
