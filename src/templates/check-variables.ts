/**
 * Static checks of a template's variables and helpers, on the Handlebars syntax tree, so a
 * marketer learns about `{{fisrtName}}` or an unguarded `{{firstName}}` when the sequence is
 * loaded, not when a contact gets "Hi ,".
 *
 * Rules:
 * - a variable must be one of TEMPLATE_VARIABLES (render-context.ts): a flat contact field
 *   (`firstName`), or a namespaced one (`contact.firstName`, `sender.email`, `links.unsubscribe`,
 *   `touch.id`, `sequence.name`), down to the fields each one has (`address.city`);
 * - a field some messages lack (the optional ones, the optional address lines, any
 *   `attributes.x`, `sequence`) must be guarded by `{{#if x}}`, `{{#with x}}`, `{{#each x}}` or the
 *   `{{else}}` of `{{#unless x}}` on it (or on the field that holds it: `address.city` inside
 *   `{{#if address}}`), or have a fallback: `{{default x "..."}}`. Since `attributes` is always
 *   an object, `{{#if attributes}}` guards nothing: each `attributes.x` needs its own guard;
 * - only the helpers in TEMPLATE_HELPERS exist; decorators are not supported;
 * - `{{> name}}` includes `partials/name.hbs`, checked where it is included; a layout is checked
 *   with `{{{body}}}` known.
 */
import { TemplateError } from '../errors.js';
import type { FileProblem } from '../errors.js';
import { closest } from '../sequences/suggest.js';
import { TEMPLATE_HELPERS, parseTemplatePart } from './compile.js';
import { LAYOUT_VARIABLES, TEMPLATE_VARIABLES } from './render-context.js';
import type { VariableSpec } from './render-context.js';
import { layoutParts, partialPart, templateParts } from './template-files.js';
import type { PartialSource, TemplatePart, TemplateSource } from './template-files.js';

const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with']);
const INLINE_HELPERS = new Set(['default', 'lookup', 'date', 'plural']);

export interface CheckTemplateOptions {
  /** The template is used for an email, so it must have a subject. */
  requireSubject?: boolean;
}

export function checkTemplateVariables(src: TemplateSource, opts: CheckTemplateOptions = {}): FileProblem[] {
  const problems: FileProblem[] = [];
  if (opts.requireSubject && (src.subject === undefined || src.subject.trim() === '')) {
    problems.push({
      file: src.htmlFile,
      path: 'subject',
      line: 1,
      message:
        'an email template needs a subject: start the file with a front matter such as\n---\nsubject: Your guide is ready\n---',
      severity: 'error',
    });
  }
  const check = (part: TemplatePart, variables: typeof TEMPLATE_VARIABLES): void => {
    let ast: hbs.AST.Program;
    try {
      ast = parseTemplatePart(part);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(...err.problems);
      return;
    }
    new Checker(part, problems, variables, src.partials ?? {}).program(ast, ROOT_SCOPE);
  };
  for (const part of templateParts(src)) check(part, TEMPLATE_VARIABLES);
  for (const part of src.layout ? layoutParts(src.layout) : []) check(part, LAYOUT_VARIABLES);
  return dedupe(problems);
}

/** A partial included twice reports its problems once. */
function dedupe(problems: FileProblem[]): FileProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}:${p.line ?? ''}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What a name stands for at some point of the template. */
type Binding =
  /** A place in the template context; `[]` is the contact itself. */
  | { kind: 'path'; path: readonly string[] }
  /** One of the contact's tags (a string), inside `{{#each tags}}`. */
  | { kind: 'tag' }
  /** Something whose shape is not known (an item of a list in attributes, `@index`, ...). */
  | { kind: 'opaque' };

interface Scope {
  /** Context stack: the last one is `this`, `../` goes one up. */
  contexts: readonly Binding[];
  /** Block params (`as |item i|`), innermost last. */
  params: readonly ReadonlyMap<string, Binding>[];
  /** Paths known to be present here. */
  guards: readonly (readonly string[])[];
  /** Description of the innermost context-changing block, for messages. */
  block?: string;
}

const ROOT_SCOPE: Scope = { contexts: [{ kind: 'path', path: [] }], params: [], guards: [] };
const OPAQUE: Binding = { kind: 'opaque' };

type Expr = hbs.AST.Expression;

/** An expression that reads a value: what it resolves to, and how the user wrote it. */
interface Read {
  binding: Binding;
  written: string;
  loc: hbs.AST.SourceLocation;
}

class Checker {
  constructor(
    private readonly part: TemplatePart,
    private readonly problems: FileProblem[],
    private readonly vars: Readonly<Record<string, VariableSpec>>,
    private readonly partials: Readonly<Record<string, PartialSource>>,
    /** Partials being checked around this one, so a partial that includes itself stops. */
    private readonly including: readonly string[] = [],
  ) {}

  program(program: hbs.AST.Program | undefined, scope: Scope): void {
    for (const statement of program?.body ?? []) this.statement(statement, scope);
  }

  private statement(node: hbs.AST.Statement, scope: Scope): void {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement':
        return this.mustache(node as hbs.AST.MustacheStatement, scope);
      case 'BlockStatement':
        return this.block(node as hbs.AST.BlockStatement, scope);
      case 'PartialStatement':
        return this.partial(node as hbs.AST.PartialStatement, scope);
      case 'PartialBlockStatement':
        return this.report(node.loc, 'partial blocks ({{#> name}}…{{/name}}) are not supported: use {{> name}}');
      case 'Decorator':
      case 'DecoratorBlock':
        return this.report(node.loc, 'decorators ({{* name}}) are not supported');
      default:
        return this.report(node.loc, `unsupported Handlebars construct (${node.type})`);
    }
  }

  /** `{{> name}}` is checked as if its text stood here (with `{{> name value}}`, inside that value). */
  private partial(node: hbs.AST.PartialStatement, scope: Scope): void {
    if (node.name.type !== 'PathExpression') {
      return this.report(node.loc, 'a partial is named as {{> name}}: computed names ({{> (expr)}}) are not supported');
    }
    const name = (node.name as hbs.AST.PathExpression).original;
    const source = this.partials[name];
    if (!source) return this.report(node.loc, `partial "${name}" not found: expected the file partials/${name}.hbs`);
    this.hash(node.hash, scope);
    const [arg] = node.params;
    const read = arg ? this.expression(arg, scope, false) : undefined;
    if (this.including.includes(name)) return this.report(node.loc, `partial "${name}" includes itself`);
    let ast: hbs.AST.Program;
    const part = partialPart(source);
    try {
      ast = parseTemplatePart(part);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      this.problems.push(...err.problems);
      return;
    }
    const inner = arg ? enter(scope, read?.binding ?? OPAQUE, [], `{{> ${name}}}`, undefined) : scope;
    new Checker(part, this.problems, this.vars, this.partials, [...this.including, name]).program(ast, inner);
  }

  private mustache(node: hbs.AST.MustacheStatement, scope: Scope): void {
    if (node.path.type !== 'PathExpression') return; // {{"literal"}}
    const path = node.path as hbs.AST.PathExpression;
    if (isHelperCall(path, node.params, node.hash)) {
      this.helperCall(path, node.params, node.hash, scope, { output: true, safe: false });
    } else {
      this.use(this.readPath(path, scope), scope, false);
    }
  }

  private block(node: hbs.AST.BlockStatement, scope: Scope): void {
    const name = node.path.original;
    const params = node.params;
    if (!isSimpleName(node.path) || !BLOCK_HELPERS.has(name)) {
      if (isSimpleName(node.path) && INLINE_HELPERS.has(name)) {
        this.report(node.loc, `{{#${name}}} is not a block helper: write {{${name} ...}}`);
      } else if (params.length === 0 && !hasHash(node.hash) && this.vars[node.path.parts[0] ?? ''] !== undefined) {
        this.report(
          node.loc,
          `{{#${name}}} is not a helper: write {{#if ${name}}}…{{/if}} or {{#each ${name}}}…{{/each}}`,
        );
      } else {
        this.unknownHelper(node.path);
      }
      for (const p of params) this.expression(p, scope, false);
      this.hash(node.hash, scope);
      this.program(node.program, scope);
      this.program(node.inverse, scope);
      return;
    }

    this.hash(node.hash, scope);
    const [test, ...extra] = params;
    if (!test || extra.length > 0) {
      this.report(node.loc, `{{#${name}}} takes exactly one value, e.g. {{#${name} firstName}}`);
    }
    for (const p of extra) this.expression(p, scope, false);
    const read = test ? this.expression(test, scope, true) : undefined;
    const tested = read?.binding.kind === 'path' ? read.binding.path : undefined;
    const guarded = (s: Scope): Scope => (tested ? { ...s, guards: [...s.guards, tested] } : s);
    const written = read?.written ?? '';

    switch (name) {
      case 'if':
        this.program(node.program, guarded(scope));
        this.program(node.inverse, scope);
        return;
      case 'unless':
        this.program(node.program, scope);
        this.program(node.inverse, guarded(scope));
        return;
      case 'with': {
        const value = read?.binding ?? OPAQUE;
        this.program(node.program, enter(guarded(scope), value, [value], `{{#with ${written}}}`, node.program));
        this.program(node.inverse, scope);
        return;
      }
      case 'each': {
        const item: Binding = read?.binding.kind === 'path' && specAt(this.vars, read.binding.path)?.tags ? { kind: 'tag' } : OPAQUE;
        this.program(node.program, enter(guarded(scope), item, [item, OPAQUE], `{{#each ${written}}}`, node.program));
        this.program(node.inverse, scope);
        return;
      }
    }
  }

  /**
   * Checks an expression used as a value. `safe`: a missing value is handled where it is used
   * (the test of `if`, the value of `default`).
   */
  private expression(expr: Expr, scope: Scope, safe: boolean): Read | undefined {
    if (expr.type === 'PathExpression') {
      const read = this.readPath(expr as hbs.AST.PathExpression, scope);
      this.use(read, scope, safe);
      return read;
    }
    if (expr.type === 'SubExpression') {
      const sub = expr as hbs.AST.SubExpression;
      return this.helperCall(sub.path, sub.params, sub.hash, scope, { output: false, safe });
    }
    return undefined; // a literal
  }

  private hash(hash: hbs.AST.Hash | undefined, scope: Scope): void {
    for (const pair of hash?.pairs ?? []) this.expression(pair.value, scope, false);
  }

  /** A call of an inline helper, in a mustache (`output`) or a subexpression. */
  private helperCall(
    path: hbs.AST.PathExpression,
    params: Expr[],
    hash: hbs.AST.Hash | undefined,
    scope: Scope,
    how: { output: boolean; safe: boolean },
  ): Read | undefined {
    const name = path.original;
    this.hash(hash, scope);
    if (!isSimpleName(path) || !INLINE_HELPERS.has(name)) {
      if (isSimpleName(path) && BLOCK_HELPERS.has(name)) {
        this.report(path.loc, `${name} is a block helper: write {{#${name} ...}}…{{/${name}}}`);
      } else {
        this.unknownHelper(path);
      }
      for (const p of params) this.expression(p, scope, false);
      return undefined;
    }

    if (name === 'date') {
      const [value, format, ...extra] = params;
      if (!value || extra.length > 0) this.report(path.loc, 'date takes a value and a format, e.g. {{date touch.sentAt "long"}}');
      if (value) this.expression(value, scope, true);
      if (format) this.expression(format, scope, false);
      for (const p of extra) this.expression(p, scope, false);
      return undefined;
    }

    if (name === 'plural') {
      const [count, singular, plural, ...extra] = params;
      if (!count || !singular || extra.length > 0) {
        this.report(path.loc, 'plural takes a count, a singular and a plural, e.g. {{plural attributes.seats "# seat" "# seats"}}');
      }
      for (const p of [count, singular, plural, ...extra]) if (p) this.expression(p, scope, false);
      return undefined;
    }

    if (name === 'default') {
      const [value, fallback, ...extra] = params;
      if (!value || !fallback || extra.length > 0) {
        this.report(path.loc, 'default takes a value and a fallback, e.g. {{default firstName "there"}}');
      }
      if (value) this.expression(value, scope, true);
      if (fallback) this.expression(fallback, scope, false);
      for (const p of extra) this.expression(p, scope, false);
      return undefined;
    }

    // lookup: {{lookup attributes "industry"}} reads attributes.industry.
    const [object, key, ...extra] = params;
    if (!object || !key || extra.length > 0) {
      this.report(path.loc, 'lookup takes a value and a key, e.g. {{lookup attributes "industry"}}');
    }
    for (const p of extra) this.expression(p, scope, false);
    if (!object) return undefined;
    if (key?.type !== 'StringLiteral' || object.type !== 'PathExpression') {
      // A computed key: only the object can be checked, the result is unknown.
      this.expression(object, scope, false);
      if (key) this.expression(key, scope, false);
      return undefined;
    }
    const objectRead = this.readPath(object as hbs.AST.PathExpression, scope);
    const keyName = (key as hbs.AST.StringLiteral).value;
    const written = `lookup ${objectRead.written} ${JSON.stringify(keyName)}`;
    const read: Read = {
      binding:
        objectRead.binding.kind === 'path' ? { kind: 'path', path: [...objectRead.binding.path, keyName] } : OPAQUE,
      written: how.output ? written : `(${written})`,
      loc: path.loc,
    };
    // Unless it is the value of default or the test of a guard, it may be missing like a variable.
    this.use(read, scope, how.safe);
    return read;
  }

  /** Resolves a path to what it stands for, reporting paths that cannot mean anything. */
  private readPath(path: hbs.AST.PathExpression, scope: Scope): Read {
    const written = path.original;
    const loc = path.loc;
    const parts = path.parts;
    if (path.data) {
      if (parts[0] === 'root') return { binding: { kind: 'path', path: parts.slice(1) }, written, loc };
      return { binding: OPAQUE, written, loc }; // @index, @key, @first, @last
    }
    const scoped = /^\.|^this\b/.test(written);
    if (!scoped && path.depth === 0 && parts[0] !== undefined) {
      for (let i = scope.params.length - 1; i >= 0; i--) {
        const bound = scope.params[i]?.get(parts[0]);
        if (bound) return { binding: extend(bound, parts.slice(1)), written, loc };
      }
    }
    const base = scope.contexts[scope.contexts.length - 1 - path.depth];
    if (!base) {
      this.report(loc, `{{${written}}} goes up more levels (../) than there are blocks around it`);
      return { binding: OPAQUE, written, loc };
    }
    if (base.kind === 'tag' && parts.length > 0) {
      this.report(
        loc,
        `{{${written}}} inside ${scope.block ?? '{{#each tags}}'} is looked up on the current tag, not on the contact: write {{@root.${parts.join('.')}}}`,
      );
      return { binding: OPAQUE, written, loc };
    }
    return { binding: extend(base, parts), written, loc };
  }

  /** Reports an unknown variable, or an optional one used where it may be missing. */
  private use(read: Read, scope: Scope, safe: boolean): void {
    if (read.binding.kind !== 'path') return;
    const path = read.binding.path;
    if (path.length === 0) return; // {{this}}: the whole context
    const shown = read.written.replace(/^\((.*)\)$/s, '$1');
    // Walks down the known names; `optionalAt` are the prefix lengths some messages lack.
    const optionalAt: number[] = [];
    let fields: VariableSpec['fields'] = this.vars;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (fields === 'any') {
        optionalAt.push(i + 1);
        continue;
      }
      if (fields === undefined) {
        this.report(read.loc, `unknown variable {{${shown}}}: ${path.slice(0, i).join('.')} has no fields`);
        return;
      }
      const spec: VariableSpec | undefined = Object.hasOwn(fields, seg) ? fields[seg] : undefined;
      if (!spec) {
        const known = Object.keys(fields);
        const guess = closest(seg, known);
        const prefix = path.slice(0, i).join('.');
        const hint = guess ? `; did you mean {{${prefix ? `${prefix}.` : ''}${guess}}}?` : '';
        const what = i === 0 ? `known: ${known.join(', ')}` : `${prefix} has: ${known.join(', ')}`;
        this.report(read.loc, `unknown variable {{${shown}}} (${what})${hint}`);
        return;
      }
      if (spec.presence === 'optional') optionalAt.push(i + 1);
      fields = spec.fields;
    }
    if (safe) return;
    const unguarded = optionalAt.some(
      (n) => !scope.guards.some((g) => g.length >= n && path.slice(0, n).every((seg, i) => g[i] === seg)),
    );
    if (!unguarded) return;
    const last = path[path.length - 1];
    const fallback = last === 'firstName' ? 'there' : '…';
    const condition = read.written;
    this.report(
      read.loc,
      `{{${shown}}} may be missing for some contacts: write {{default ${condition} "${fallback}"}} or wrap it in {{#if ${condition}}}…{{/if}}`,
    );
  }

  private unknownHelper(path: hbs.AST.PathExpression): void {
    this.report(path.loc, `unknown helper {{${path.original}}} (available: ${TEMPLATE_HELPERS.join(', ')})`);
  }

  private report(loc: hbs.AST.SourceLocation | undefined, message: string): void {
    const partLine = loc?.start.line;
    this.problems.push({
      file: this.part.file,
      path: this.part.part,
      ...(partLine === undefined ? {} : { line: this.part.firstLine + partLine - 1 }),
      message,
      severity: 'error',
    });
  }
}

/** The scope inside a block that changes `this` (with, each), with its block params bound. */
function enter(
  scope: Scope,
  context: Binding,
  paramValues: Binding[],
  block: string,
  program: hbs.AST.Program | undefined,
): Scope {
  const names = program?.blockParams ?? [];
  const params = new Map<string, Binding>();
  names.forEach((name, i) => params.set(name, paramValues[i] ?? OPAQUE));
  return {
    contexts: [...scope.contexts, context],
    params: names.length > 0 ? [...scope.params, params] : scope.params,
    guards: scope.guards,
    block,
  };
}

function extend(base: Binding, parts: readonly string[]): Binding {
  if (parts.length === 0) return base;
  return base.kind === 'path' ? { kind: 'path', path: [...base.path, ...parts] } : OPAQUE;
}

/** The spec of the variable at `path`, when it is a known one. */
function specAt(vars: Readonly<Record<string, VariableSpec>>, path: readonly string[]): VariableSpec | undefined {
  let fields: VariableSpec['fields'] = vars;
  let spec: VariableSpec | undefined;
  for (const seg of path) {
    if (fields === undefined || fields === 'any' || !Object.hasOwn(fields, seg)) return undefined;
    spec = fields[seg];
    fields = spec?.fields;
  }
  return spec;
}

function isSimpleName(path: hbs.AST.PathExpression): boolean {
  return !path.data && path.depth === 0 && path.parts.length === 1 && path.original === path.parts[0];
}

function hasHash(hash: hbs.AST.Hash | undefined): boolean {
  return (hash?.pairs.length ?? 0) > 0;
}

/** `{{x a}}` and `{{x k=v}}` call helper x; so does `{{default}}` alone. */
function isHelperCall(path: hbs.AST.PathExpression, params: Expr[], hash: hbs.AST.Hash | undefined): boolean {
  if (params.length > 0 || hasHash(hash)) return true;
  return isSimpleName(path) && (INLINE_HELPERS.has(path.original) || BLOCK_HELPERS.has(path.original));
}
