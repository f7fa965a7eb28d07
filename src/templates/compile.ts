/**
 * Compiling templates once and rendering them cheaply (rendering runs inside queue workers,
 * where CPU-heavy work stalls the job lock). The file format is described in template-files.ts.
 */
import Handlebars from 'handlebars';
import { compile as compileHtmlToText } from 'html-to-text';
import { TemplateError } from '../errors.js';
import type { FileProblem } from '../errors.js';
import type { TemplateContext } from '../sequences/contact.js';
import { loadTemplate, templateParts } from './template-files.js';
import type { StoredTemplate, TemplatePart, TemplatePartName, TemplateSource } from './template-files.js';

export interface RenderedMessage {
  /** Rendered subject on one line; empty when the template has no subject. */
  subject: string;
  /** Rendered HTML body, with the preheader (if any) in a hidden block at its top. */
  html: string;
  /** Plain-text body: the `.txt.hbs` part, or text derived from the HTML. */
  text: string;
}

export interface CompiledTemplate {
  readonly name: string;
  readonly source: TemplateSource;
  render(ctx: TemplateContext): RenderedMessage;
}

/** The helpers templates may use: Handlebars' built-ins we allow, and ours. */
export const TEMPLATE_HELPERS: readonly string[] = ['if', 'unless', 'each', 'with', 'lookup', 'default'];

/**
 * `{{default value "fallback"}}`: the value, or the fallback when the value is missing
 * (null, undefined, or a blank string).
 */
function defaultHelper(...args: unknown[]): unknown {
  // Handlebars passes its options object last: (value, fallback, options).
  const value = args.length >= 2 ? args[0] : undefined;
  const fallback = args.length >= 3 ? args[1] : '';
  if (value === null || value === undefined) return fallback;
  if (typeof value === 'string' && value.trim() === '') return fallback;
  return value;
}

/** An isolated Handlebars environment: the global one (and other libraries' helpers) stay untouched. */
const handlebars = Handlebars.create();
handlebars.registerHelper('default', defaultHelper as Handlebars.HelperDelegate);

const htmlToText = compileHtmlToText({
  wordwrap: 78,
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
  ],
});

/**
 * Parses one part of a template. A syntax error becomes a TemplateError whose problem names
 * the file, the line in that file and the part.
 */
export function parseTemplatePart(part: TemplatePart): hbs.AST.Program {
  try {
    return handlebars.parse(part.source);
  } catch (err) {
    throw new TemplateError([syntaxProblem(part, err)], { cause: err });
  }
}

function syntaxProblem(part: TemplatePart, err: unknown): FileProblem {
  const raw = err instanceof Error ? err.message : String(err);
  let partLine: number | undefined;
  let message: string;
  const jison = /^Parse error on line (\d+):\n(.*)\n.*\n(.*)$/s.exec(raw);
  if (jison) {
    partLine = Number(jison[1]);
    const near = (jison[2] ?? '').trim();
    const expected = (jison[3] ?? '').replace(/\s+/g, ' ').trim();
    message = /got 'EOF'$/.test(expected)
      ? `Handlebars syntax error: the template ends inside a block: is a {{#if}}, {{#each}}, {{#with}} or {{#unless}} missing its {{/…}}? (near "${near}")`
      : `Handlebars syntax error near "${near}": ${expected}`;
  } else {
    const located = err as { lineNumber?: unknown };
    if (typeof located.lineNumber === 'number') partLine = located.lineNumber;
    message = `Handlebars syntax error: ${raw.replace(/ - \d+:\d+$/, '')}`;
  }
  return {
    file: part.file,
    path: part.part,
    ...(partLine === undefined ? {} : { line: part.firstLine + partLine - 1 }),
    message,
    severity: 'error',
  };
}

type RenderFn = (ctx: TemplateContext) => string;

function compilePart(part: TemplatePart, noEscape: boolean): RenderFn {
  const ast = parseTemplatePart(part);
  const fn = handlebars.compile<TemplateContext>(ast, { strict: false, noEscape });
  return (ctx) => {
    try {
      return fn(ctx);
    } catch (err) {
      const located = err as { lineNumber?: unknown };
      const line = typeof located.lineNumber === 'number' ? part.firstLine + located.lineNumber - 1 : undefined;
      const reason = err instanceof Error ? err.message.replace(/ - \d+:\d+$/, '') : String(err);
      throw new TemplateError(
        [
          {
            file: part.file,
            path: part.part,
            ...(line === undefined ? {} : { line }),
            message: `rendering failed: ${reason}`,
            severity: 'error',
          },
        ],
        { cause: err },
      );
    }
  };
}

/**
 * Escaping per part: the HTML body is escaped; the subject, the preheader and the plain text
 * are text (the preheader is escaped as a whole when it is put into the HTML).
 */
const NO_ESCAPE: Record<TemplatePartName, boolean> = { subject: true, preheader: true, html: false, text: true };

/**
 * Parses and compiles every part of a template once. Syntax errors are thrown here, as a
 * TemplateError listing each broken part with its file and line.
 */
export function compileTemplate(src: TemplateSource): CompiledTemplate {
  const fns: Partial<Record<TemplatePartName, RenderFn>> = {};
  const problems: FileProblem[] = [];
  for (const part of templateParts(src)) {
    try {
      fns[part.part] = compilePart(part, NO_ESCAPE[part.part]);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new TemplateError(problems);
  const { subject, preheader, html, text } = fns;
  if (!html) throw new Error(`template ${src.name}: no HTML part`); // templateParts always has one

  return {
    name: src.name,
    source: src,
    render(ctx: TemplateContext): RenderedMessage {
      const body = html(ctx);
      return {
        subject: subject ? oneLine(subject(ctx)) : '',
        html: preheader ? withPreheader(body, handlebars.escapeExpression(oneLine(preheader(ctx)))) : body,
        text: text ? text(ctx) : htmlToText(body),
      };
    },
  };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

const PREHEADER_STYLE =
  'display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all;';

/** Puts the preheader (already HTML-escaped) in a hidden block right after `<body>`, or first. */
function withPreheader(html: string, preheader: string): string {
  if (preheader === '') return html;
  const block = `<div style="${PREHEADER_STYLE}">${preheader}</div>`;
  const body = /<body\b[^>]*>/i.exec(html);
  if (!body) return block + html;
  const at = body.index + body[0].length;
  return html.slice(0, at) + block + html.slice(at);
}

/**
 * Loads and compiles each template once per cache. Concurrent `get`s of the same name share
 * one load; a failed load is not kept, so a fixed file is picked up on the next `get`.
 * Templates published with a sequence version come in as stored sources (`fromStored`) and are
 * compiled once per content hash: those never touch the folder.
 */
export class TemplateCache {
  readonly #dir: string;
  readonly #entries = new Map<string, Promise<CompiledTemplate>>();
  readonly #byHash = new Map<string, CompiledTemplate>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  get dir(): string {
    return this.#dir;
  }

  get(name: string): Promise<CompiledTemplate> {
    const cached = this.#entries.get(name);
    if (cached) return cached;
    const entry = loadTemplate(this.#dir, name).then(compileTemplate);
    this.#entries.set(name, entry);
    entry.catch(() => {
      if (this.#entries.get(name) === entry) this.#entries.delete(name);
    });
    return entry;
  }

  /** The compiled form of a stored template; a hash is compiled once, whatever version names it. */
  fromStored(t: StoredTemplate): CompiledTemplate {
    let compiled = this.#byHash.get(t.hash);
    if (!compiled) {
      compiled = compileTemplate(t.source);
      this.#byHash.set(t.hash, compiled);
    }
    return compiled;
  }

  /** Forgets every template read from the folder (e.g. after the files changed); stored ones cannot change. */
  clear(): void {
    this.#entries.clear();
  }
}
