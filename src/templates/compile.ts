/**
 * Compiling templates once and rendering them cheaply (rendering runs inside queue workers,
 * where CPU-heavy work stalls the job lock). The file format is described in template-files.ts.
 */
import Handlebars from 'handlebars';
import { compile as compileHtmlToText } from 'html-to-text';
import { DateTime } from 'luxon';
import { TemplateError } from '../errors.js';
import type { FileProblem } from '../errors.js';
import type { TemplateContext } from '../sequences/contact.js';
import { layoutParts, loadTemplate, partialPart, templateParts } from './template-files.js';
import type { PartialSource, StoredTemplate, TemplatePart, TemplatePartName, TemplateSource } from './template-files.js';

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
export const TEMPLATE_HELPERS: readonly string[] = ['if', 'unless', 'each', 'with', 'lookup', 'default', 'date', 'plural'];

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

/** Names of luxon's presets accepted as the format of `{{date}}`. */
export const DATE_PRESETS = {
  short: DateTime.DATE_SHORT,
  medium: DateTime.DATE_MED,
  long: DateTime.DATE_FULL,
  full: DateTime.DATE_HUGE,
  time: DateTime.TIME_SIMPLE,
  datetime: DateTime.DATETIME_MED,
} as const;

interface HelperOptions {
  hash?: Record<string, unknown>;
  data?: { root?: { contact?: { timezone?: unknown } } };
}

/**
 * `{{date value "format"}}`: an instant (ISO text or a Date) shown in the contact's zone
 * (`contact.timezone`), in a preset (`short`, `medium` (default), `long`, `full`, `time`,
 * `datetime`) or a luxon format (`"d LLLL yyyy"`). `zone=` and `locale=` override.
 */
function dateHelper(...args: unknown[]): string {
  const options = args[args.length - 1] as HelperOptions;
  const value = args.length >= 2 ? args[0] : undefined;
  const format = args.length >= 3 ? args[1] : 'medium';
  if (value === null || value === undefined || value === '') return '';
  const hashZone = options.hash?.['zone'];
  const rootZone = options.data?.root?.contact?.timezone;
  const zone = typeof hashZone === 'string' ? hashZone : typeof rootZone === 'string' ? rootZone : 'UTC';
  const locale = typeof options.hash?.['locale'] === 'string' ? (options.hash['locale'] as string) : 'en-US';
  const at =
    value instanceof Date ? DateTime.fromJSDate(value) : typeof value === 'string' ? DateTime.fromISO(value, { setZone: true }) : DateTime.invalid('not a date');
  if (!at.isValid) throw new Error(`date: ${JSON.stringify(value)} is not an ISO 8601 date or instant`);
  const local = at.setZone(zone).setLocale(locale);
  if (!local.isValid) throw new Error(`date: "${zone}" is not a time zone`);
  if (typeof format !== 'string') throw new Error('date: the format must be text, e.g. {{date touch.sentAt "long"}}');
  const preset = (DATE_PRESETS as Record<string, Intl.DateTimeFormatOptions>)[format];
  return preset ? local.toLocaleString(preset) : local.toFormat(format);
}

/**
 * `{{plural count "seat" "seats"}}`: the singular or the plural by the count's plural rule
 * (English by default, `locale=`); `#` in either is replaced by the count; without a plural,
 * the singular with an "s".
 */
function pluralHelper(...args: unknown[]): string {
  const options = args[args.length - 1] as HelperOptions;
  const [count, singular, plural] = args.slice(0, -1);
  const n = typeof count === 'number' ? count : Number(count);
  if (!Number.isFinite(n)) throw new Error(`plural: ${JSON.stringify(count)} is not a number`);
  const one = String(singular ?? '');
  const many = plural === undefined ? `${one}s` : String(plural);
  const locale = typeof options.hash?.['locale'] === 'string' ? (options.hash['locale'] as string) : 'en';
  const word = new Intl.PluralRules(locale).select(n) === 'one' ? one : many;
  return word.replace(/#/g, String(n));
}

/** An isolated Handlebars environment: the global one (and other libraries' helpers) stay untouched. */
const handlebars = Handlebars.create();
handlebars.registerHelper('default', defaultHelper as Handlebars.HelperDelegate);
handlebars.registerHelper('date', dateHelper as Handlebars.HelperDelegate);
handlebars.registerHelper('plural', pluralHelper as Handlebars.HelperDelegate);

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

function compilePart(part: TemplatePart, noEscape: boolean, partials: Readonly<Record<string, PartialSource>> = {}): RenderFn {
  const ast = parseTemplatePart(part);
  const fn = handlebars.compile<TemplateContext>(ast, { strict: false, noEscape });
  // Compiled once per part, on first use, with this part's escaping (Handlebars keeps them in the object).
  const partialFns: Record<string, Handlebars.Template> = {};
  for (const [name, p] of Object.entries(partials)) partialFns[name] = handlebars.compile(p.source, { strict: false, noEscape });
  return (ctx) => {
    try {
      return fn(ctx, { partials: partialFns });
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
const NO_ESCAPE: Record<TemplatePartName, boolean> = {
  subject: true,
  preheader: true,
  html: false,
  text: true,
  layout: false,
  'layout-text': true,
  partial: false,
};

/**
 * Parses and compiles every part of a template once. Syntax errors are thrown here, as a
 * TemplateError listing each broken part with its file and line.
 */
export function compileTemplate(src: TemplateSource): CompiledTemplate {
  const fns: Partial<Record<TemplatePartName, RenderFn>> = {};
  const problems: FileProblem[] = [];
  const partials = src.partials ?? {};
  const parts = [...templateParts(src), ...(src.layout ? layoutParts(src.layout) : []), ...Object.values(partials).map(partialPart)];
  for (const part of parts) {
    try {
      const fn = compilePart(part, NO_ESCAPE[part.part], partials);
      if (part.part !== 'partial') fns[part.part] = fn;
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new TemplateError(problems);
  const { subject, preheader, html, text, layout } = fns;
  const layoutText = fns['layout-text'];
  if (!html) throw new Error(`template ${src.name}: no HTML part`); // templateParts always has one

  return {
    name: src.name,
    source: src,
    render(ctx: TemplateContext): RenderedMessage {
      const inner = html(ctx);
      // The layout sees every name the template does, and the rendered body as {{{body}}}.
      const body = layout ? layout({ ...ctx, body: inner } as TemplateContext) : inner;
      const ownText = text?.(ctx);
      return {
        subject: subject ? oneLine(subject(ctx)) : '',
        html: preheader ? withPreheader(body, handlebars.escapeExpression(oneLine(preheader(ctx)))) : body,
        // A plain-text part always goes out: the template's own (in the layout's text, if any), else derived from the HTML.
        text: ownText === undefined ? htmlToText(body) : layoutText ? layoutText({ ...ctx, body: ownText } as TemplateContext) : ownText,
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
