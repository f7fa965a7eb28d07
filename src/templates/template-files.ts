/**
 * Template files: finding them, reading them and splitting them into their parts.
 *
 * ## Template file format
 *
 * A template named `welcome` lives in the templates folder as:
 *
 * - `welcome.hbs` (required): optional YAML front matter between two `---` lines, then the
 *   HTML body, written in Handlebars:
 *
 *   ```hbs
 *   ---
 *   subject: '{{default firstName "Hello"}}, your guide is ready'
 *   preheader: Five ideas you can use this week
 *   ---
 *   <p>Hi {{default firstName "there"}},</p>
 *   {{#if address}}<p>See you in {{address.city}}!</p>{{/if}}
 *   ```
 *
 *   Front matter fields (any other field is an error):
 *   - `layout`: the layout that wraps the body (`layouts/<layout>.hbs`), or `none`. Without it,
 *     `layouts/default.hbs` wraps the body when that file exists.
 *   - `subject`: the email subject, in Handlebars. Required when the template is used for an
 *     email; not HTML-escaped. Quote it when it starts with `{{` (YAML reads `{` as a map).
 *   - `preheader`: optional preview text that inboxes show after the subject. It is put at the
 *     top of the HTML body in a hidden block; it is not part of the plain-text body.
 * - `welcome.txt.hbs` (optional): the plain-text body, in Handlebars, not HTML-escaped. When it
 *   is absent, the plain-text body is derived from the rendered HTML.
 *
 * - `layouts/<name>.hbs`: a layout, HTML around every body that names it; `{{{body}}}` is where the
 *   body goes. `layouts/<name>.txt.hbs` (optional) does the same for the plain-text part.
 * - `partials/<name>.hbs`: a piece shared by templates and layouts, included with `{{> name}}`.
 *
 * A template's layout and the partials it (or its layout) uses are read with it and are part of
 * its source: they are stored and pinned with each sequence version like the template itself.
 *
 * Names are `[a-z0-9][a-z0-9_-]*`, and may contain `/` for subfolders (`onboarding/day-1`
 * is `onboarding/day-1.hbs`).
 *
 * Variables: see render-context.ts (`contact.*`, `sender.*`, `links.*`, `touch.*`, `sequence.*`,
 * and the contact's fields by their flat names). Fields that some contacts lack must be guarded
 * (`{{#if firstName}}…{{/if}}`) or given a fallback (`{{default firstName "there"}}`).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { TemplateError } from '../errors.js';
import type { FileProblem } from '../errors.js';
import { TEMPLATE_NAME } from '../sequences/names.js';

export interface TemplateSource {
  /** Template name, e.g. `onboarding/day-1`. */
  name: string;
  /** Path of the `.hbs` file, as built from the templates folder the user gave. */
  htmlFile: string;
  /** Path of the `.txt.hbs` file, when there is one. */
  textFile?: string;
  /** Handlebars source of the subject, from the front matter. */
  subject?: string;
  /** 1-based line in `htmlFile` where the subject value starts. */
  subjectLine?: number;
  /** Handlebars source of the preheader, from the front matter. */
  preheader?: string;
  /** 1-based line in `htmlFile` where the preheader value starts. */
  preheaderLine?: number;
  /** Handlebars source of the HTML body (the `.hbs` file after its front matter). */
  html: string;
  /** Handlebars source of the plain-text body (the whole `.txt.hbs` file). */
  text?: string;
  /** 1-based line of `htmlFile` where the HTML body starts, to turn body lines into file lines. */
  bodyLine: number;
  /** The layout around the body, when there is one. */
  layout?: LayoutSource;
  /** Every partial the template and its layout use (directly or through other partials), by name. */
  partials?: Record<string, PartialSource>;
}

export interface LayoutSource {
  name: string;
  htmlFile: string;
  html: string;
  textFile?: string;
  text?: string;
}

export interface PartialSource {
  name: string;
  file: string;
  source: string;
}

/** The parts of a template that are Handlebars, with where each one sits in which file. */
export type TemplatePartName = 'subject' | 'preheader' | 'html' | 'text' | 'layout' | 'layout-text' | 'partial';

export interface TemplatePart {
  part: TemplatePartName;
  source: string;
  file: string;
  /** 1-based file line of the part's first line: line L of the part is file line `firstLine + L - 1`. */
  firstLine: number;
}

export function templateParts(src: TemplateSource): TemplatePart[] {
  const parts: TemplatePart[] = [];
  if (src.subject !== undefined) {
    parts.push({ part: 'subject', source: src.subject, file: src.htmlFile, firstLine: src.subjectLine ?? 1 });
  }
  if (src.preheader !== undefined) {
    parts.push({ part: 'preheader', source: src.preheader, file: src.htmlFile, firstLine: src.preheaderLine ?? 1 });
  }
  parts.push({ part: 'html', source: src.html, file: src.htmlFile, firstLine: src.bodyLine });
  if (src.text !== undefined) {
    parts.push({ part: 'text', source: src.text, file: src.textFile ?? src.htmlFile, firstLine: 1 });
  }
  return parts;
}

/** The layout's parts: `layout` wraps the HTML body, `layout-text` the plain text. */
export function layoutParts(layout: LayoutSource): TemplatePart[] {
  const parts: TemplatePart[] = [{ part: 'layout', source: layout.html, file: layout.htmlFile, firstLine: 1 }];
  if (layout.text !== undefined) parts.push({ part: 'layout-text', source: layout.text, file: layout.textFile ?? layout.htmlFile, firstLine: 1 });
  return parts;
}

export function partialPart(p: PartialSource): TemplatePart {
  return { part: 'partial', source: p.source, file: p.file, firstLine: 1 };
}


export function isValidTemplateName(name: string): boolean {
  return TEMPLATE_NAME.test(name);
}

export function templateFilePaths(dir: string, name: string): { htmlFile: string; textFile: string } {
  return { htmlFile: path.join(dir, `${name}.hbs`), textFile: path.join(dir, `${name}.txt.hbs`) };
}

/**
 * Reads template `name` from folder `dir`. Throws TemplateError when the name is not valid, the
 * `.hbs` file is missing or unreadable, or its front matter is not valid.
 */
export async function loadTemplate(dir: string, name: string): Promise<TemplateSource> {
  if (!isValidTemplateName(name)) {
    throw new TemplateError([
      problem(
        path.join(dir, name),
        '',
        `"${name}" is not a valid template name: use lowercase letters, digits, "-" and "_", and "/" between folders (e.g. onboarding/day-1)`,
      ),
    ]);
  }
  const { htmlFile, textFile } = templateFilePaths(dir, name);
  const htmlRaw = await readTemplateFile(htmlFile, name);
  if (htmlRaw === undefined) {
    throw new TemplateError([
      problem(htmlFile, '', `template "${name}" not found: expected the file ${htmlFile}`),
    ]);
  }
  const textRaw = await readTemplateFile(textFile, name);
  const { layoutName, layoutLine, ...parsed } = parseTemplateFile(htmlFile, htmlRaw);
  const src: TemplateSource = { name, htmlFile, ...parsed };
  if (textRaw !== undefined) {
    src.textFile = textFile;
    src.text = normalizeNewlines(textRaw);
  }
  const layout = await loadLayout(dir, src, layoutName, layoutLine);
  if (layout) src.layout = layout;
  const partials = await loadPartials(dir, [...templateParts(src), ...(layout ? layoutParts(layout) : [])]);
  if (Object.keys(partials).length > 0) src.partials = partials;
  return src;
}

/** The name that turns the default layout off in a template's front matter. */
export const NO_LAYOUT = 'none';
export const DEFAULT_LAYOUT = 'default';

async function loadLayout(dir: string, src: TemplateSource, named: string | undefined, line: number | undefined): Promise<LayoutSource | undefined> {
  if (named === NO_LAYOUT) return undefined;
  const name = named ?? DEFAULT_LAYOUT;
  if (!isValidTemplateName(name)) {
    throw new TemplateError([problem(src.htmlFile, 'layout', `"${name}" is not a valid layout name: use lowercase letters, digits, "-" and "_" (or "none")`, line)]);
  }
  const htmlFile = path.join(dir, 'layouts', `${name}.hbs`);
  const html = await readTemplateFile(htmlFile, src.name);
  if (html === undefined) {
    if (named === undefined) return undefined; // no default layout: the body is the whole message
    throw new TemplateError([problem(src.htmlFile, 'layout', `layout "${name}" not found: expected the file ${htmlFile} (or write layout: none)`, line)]);
  }
  const layout: LayoutSource = { name, htmlFile, html: normalizeNewlines(html) };
  const textFile = path.join(dir, 'layouts', `${name}.txt.hbs`);
  const text = await readTemplateFile(textFile, src.name);
  if (text !== undefined) {
    layout.textFile = textFile;
    layout.text = normalizeNewlines(text);
  }
  return layout;
}

/** The partials `{{> name}}` reaches from these parts, and from those partials in turn. */
async function loadPartials(dir: string, parts: readonly TemplatePart[]): Promise<Record<string, PartialSource>> {
  const found: Record<string, PartialSource> = {};
  const queue: TemplatePart[] = [...parts];
  for (let part = queue.shift(); part; part = queue.shift()) {
    for (const ref of partialReferences(part)) {
      if (Object.hasOwn(found, ref.name)) continue;
      const where = (message: string): TemplateError =>
        new TemplateError([problem(part.file, part.part, message, ref.line === undefined ? undefined : part.firstLine + ref.line - 1)]);
      if (!isValidTemplateName(ref.name)) throw where(`{{> ${ref.name}}}: "${ref.name}" is not a valid partial name`);
      const file = path.join(dir, 'partials', `${ref.name}.hbs`);
      const source = await readTemplateFile(file, ref.name);
      if (source === undefined) throw where(`partial "${ref.name}" not found: expected the file ${file}`);
      found[ref.name] = { name: ref.name, file, source: normalizeNewlines(source) };
      queue.push(partialPart(found[ref.name]!));
    }
  }
  return found;
}

/** `{{> name}}` in a part, by name; a part that does not parse has none (its syntax error is reported when it is compiled). */
function partialReferences(part: TemplatePart): { name: string; line: number | undefined }[] {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(part.source);
  } catch {
    return [];
  }
  const out: { name: string; line: number | undefined }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const n = node as { type?: string; name?: { type?: string; original?: unknown }; loc?: hbs.AST.SourceLocation };
    if ((n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') && n.name?.type === 'PathExpression' && typeof n.name.original === 'string') {
      out.push({ name: n.name.original, line: n.loc?.start.line });
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') visit(value);
  };
  visit(ast);
  return out;
}

/** Reads a file as UTF-8; undefined when it does not exist. */
async function readTemplateFile(file: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const why = code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? String(err)})`;
    throw new TemplateError([problem(file, '', `template "${name}": ${file} ${why}`)], { cause: err });
  }
}

function normalizeNewlines(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

type ParsedFile = Pick<TemplateSource, 'subject' | 'subjectLine' | 'preheader' | 'preheaderLine' | 'html' | 'bodyLine'> & {
  /** The `layout` of the front matter, resolved by loadTemplate. */
  layoutName?: string;
  layoutLine?: number;
};

const FRONT_MATTER_FIELDS = ['subject', 'preheader', 'layout'] as const;
type FrontMatterField = (typeof FRONT_MATTER_FIELDS)[number];

/**
 * Splits the contents of a `.hbs` file into its front matter fields and its HTML body.
 * Exported for tests and for tools that hold the text in memory.
 */
export function parseTemplateFile(file: string, contents: string): ParsedFile {
  const lines = normalizeNewlines(contents).split('\n');
  if (lines[0]?.trimEnd() !== '---') {
    return { html: lines.join('\n'), bodyLine: 1 };
  }
  const end = lines.findIndex((line, i) => i > 0 && line.trimEnd() === '---');
  if (end === -1) {
    throw new TemplateError([
      problem(file, 'front matter', 'the front matter that starts with --- on line 1 is never closed: add a line with --- before the HTML', 1),
    ]);
  }
  const fields = parseFrontMatter(file, lines.slice(1, end).join('\n'));
  return { ...fields, html: lines.slice(end + 1).join('\n'), bodyLine: end + 2 };
}

const QUOTE_HINT = `a value that starts with {{ must be in quotes, e.g. subject: '{{default firstName "Hi"}}, welcome'`;

/** Front matter starts on line 2 of the file (line 1 is `---`). */
const FRONT_MATTER_FIRST_LINE = 2;

function parseFrontMatter(file: string, yamlText: string): Omit<ParsedFile, 'html' | 'bodyLine'> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line + FRONT_MATTER_FIRST_LINE - 1;
  const lineOf = (node: YamlNode | null | undefined): number | undefined =>
    node?.range ? lineAt(node.range[0]) : undefined;
  const yamlLines = yamlText.split('\n');

  const firstError = doc.errors[0];
  if (firstError) {
    const line = lineAt(firstError.pos[0]);
    const sourceLine = yamlLines[line - FRONT_MATTER_FIRST_LINE] ?? '';
    const hint = sourceLine.includes('{') ? ` (${QUOTE_HINT})` : '';
    throw new TemplateError([problem(file, 'front matter', `not valid YAML: ${firstError.message}${hint}`, line)], {
      cause: firstError,
    });
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return {};
  if (!isMap(doc.contents)) {
    throw new TemplateError([
      problem(file, 'front matter', 'the front matter must be fields such as "subject: Welcome!"', lineOf(doc.contents) ?? 2),
    ]);
  }

  const problems: FileProblem[] = [];
  const out: Omit<ParsedFile, 'html' | 'bodyLine'> = {};
  for (const pair of doc.contents.items) {
    const keyNode = isScalar(pair.key) ? pair.key : undefined;
    const key = keyNode ? String(keyNode.value) : String(pair.key);
    const keyLine = lineOf(keyNode);
    if (!(FRONT_MATTER_FIELDS as readonly string[]).includes(key)) {
      problems.push(
        problem(file, key, `unknown front matter field "${key}" (known: ${FRONT_MATTER_FIELDS.join(', ')})`, keyLine),
      );
      continue;
    }
    const field = key as FrontMatterField;
    const valueNode = pair.value as YamlNode | null;
    const valueLine = lineOf(valueNode) ?? keyLine;
    if (!isScalar(valueNode) || typeof valueNode.value !== 'string') {
      const hint = isMap(valueNode) ? ` (${QUOTE_HINT})` : '';
      problems.push(problem(file, field, `${field} must be text, but it is ${describeYamlValue(valueNode)}${hint}`, valueLine));
      continue;
    }
    if (field === 'subject') {
      out.subject = valueNode.value;
      if (valueLine !== undefined) out.subjectLine = valueLine;
    } else if (field === 'layout') {
      out.layoutName = valueNode.value.trim();
      if (valueLine !== undefined) out.layoutLine = valueLine;
    } else {
      out.preheader = valueNode.value;
      if (valueLine !== undefined) out.preheaderLine = valueLine;
    }
  }
  if (problems.length > 0) throw new TemplateError(problems);
  return out;
}

function describeYamlValue(node: YamlNode | null): string {
  if (node === null) return 'empty';
  if (isMap(node)) return 'a set of fields';
  if (!isScalar(node)) return 'a list';
  if (node.value === null) return 'empty';
  return `${typeof node.value === 'number' ? 'a number' : typeof node.value === 'boolean' ? 'true/false' : 'not text'} (${String(node.value)}): put it in quotes`;
}

function problem(file: string, fieldPath: string, message: string, line?: number): FileProblem {
  return line === undefined
    ? { file, path: fieldPath, message, severity: 'error' }
    : { file, path: fieldPath, line, message, severity: 'error' };
}

// ---- templates as stored with a sequence version ----------------------------------------

const storedSourceSchema = z.strictObject({
  name: z.string().regex(TEMPLATE_NAME),
  htmlFile: z.string(),
  textFile: z.string().optional(),
  subject: z.string().optional(),
  subjectLine: z.number().int().optional(),
  preheader: z.string().optional(),
  preheaderLine: z.number().int().optional(),
  html: z.string(),
  text: z.string().optional(),
  bodyLine: z.number().int(),
  layout: z
    .strictObject({ name: z.string(), htmlFile: z.string(), html: z.string(), textFile: z.string().optional(), text: z.string().optional() })
    .optional(),
  partials: z.record(z.string(), z.strictObject({ name: z.string(), file: z.string(), source: z.string() })).optional(),
}) satisfies z.ZodType<TemplateSource>;

/** A template as published with a sequence version: its source and the hash of its content. */
export interface StoredTemplate {
  hash: string;
  source: TemplateSource;
}

/** `sequence_versions.templates`: template name → stored template. */
export const storedTemplatesSchema = z.record(z.string(), z.strictObject({ hash: z.string().min(1), source: storedSourceSchema }));

/**
 * Hash of what a template renders (not where its file was): two processes that read the same
 * text from different folders publish the same hash, and the compiled form is shared by hash.
 */
export function templateHash(src: TemplateSource): string {
  const parts: unknown[] = [src.name, src.subject ?? null, src.preheader ?? null, src.html, src.text ?? null];
  // Appended only when present, so a template without either keeps the hash it was published with.
  if (src.layout || src.partials) {
    const partials = Object.keys(src.partials ?? {}).sort().map((n) => [n, src.partials![n]!.source]);
    parts.push(src.layout ? [src.layout.name, src.layout.html, src.layout.text ?? null] : null, partials);
  }
  const content = JSON.stringify(parts);
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

export function storedTemplate(src: TemplateSource): StoredTemplate {
  return { hash: templateHash(src), source: src };
}
