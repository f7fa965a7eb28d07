/**
 * Static checks of a template's variables and helpers, on the Handlebars syntax tree, so a
 * marketer learns about `{{fisrtName}}` or an unguarded `{{firstName}}` when the sequence is
 * loaded, not when a contact gets "Hi ,".
 *
 * Rules:
 * - a variable's root must be a contact field (TEMPLATE_FIELDS), and `address.x` a field of
 *   the postal address;
 * - a field some contacts lack (TEMPLATE_FIELDS 'optional', the optional address lines, any
 *   `attributes.x`) must be guarded by `{{#if x}}`, `{{#with x}}`, `{{#each x}}` or the
 *   `{{else}}` of `{{#unless x}}` on it (or on the field that holds it: `address.city` inside
 *   `{{#if address}}`), or have a fallback: `{{default x "..."}}`. Since `attributes` is always
 *   an object, `{{#if attributes}}` guards nothing: each `attributes.x` needs its own guard;
 * - only the helpers in TEMPLATE_HELPERS exist; partials and decorators are not supported.
 */
import { TemplateError } from '../errors.js';
import type { FileProblem } from '../errors.js';
import { TEMPLATE_FIELDS } from '../sequences/contact.js';
import type { PostalAddress } from '../sequences/contact.js';
import { closest } from '../sequences/suggest.js';
import { TEMPLATE_HELPERS, parseTemplatePart } from './compile.js';
import { templateParts } from './template-files.js';
import type { TemplatePart, TemplateSource } from './template-files.js';

/** Which lines of a postal address every address has. */
const ADDRESS_FIELDS = {
  line1: 'always',
  line2: 'optional',
  city: 'always',
  region: 'optional',
  postalCode: 'always',
  country: 'always',
} as const satisfies Record<keyof PostalAddress, 'always' | 'optional'>;

/** The signed links every email carries (src/security/message-links.ts StandardLinks). */
const LINK_FIELDS = ['unsubscribe', 'preferences', 'view'] as const;

const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with']);
const INLINE_HELPERS = new Set(['default', 'lookup']);

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
  for (const part of templateParts(src)) {
    let ast: hbs.AST.Program;
    try {
      ast = parseTemplatePart(part);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(...err.problems);
      continue;
    }
    new Checker(part, problems).program(ast, ROOT_SCOPE);
  }
  return problems;
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
      case 'PartialBlockStatement':
        return this.report(node.loc, 'partials ({{> name}}) are not supported: copy the shared part into the template');
      case 'Decorator':
      case 'DecoratorBlock':
        return this.report(node.loc, 'decorators ({{* name}}) are not supported');
      default:
        return this.report(node.loc, `unsupported Handlebars construct (${node.type})`);
    }
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
      } else if (params.length === 0 && !hasHash(node.hash) && TEMPLATE_FIELDS[node.path.parts[0] ?? ''] !== undefined) {
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
        const item: Binding =
          read?.binding.kind === 'path' && read.binding.path.length === 1 && read.binding.path[0] === 'tags'
            ? { kind: 'tag' }
            : OPAQUE;
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
    const [root, child] = path;
    if (root === undefined) return; // {{this}}: the whole context
    const shown = read.written.replace(/^\((.*)\)$/s, '$1');
    if (root === 'links') {
      // Every email has all three; a bare {{links}} would print an object.
      if (child !== undefined && (LINK_FIELDS as readonly string[]).includes(child) && path.length === 2) return;
      const guess = child === undefined ? undefined : closest(child, [...LINK_FIELDS]);
      const hint = guess ? `; did you mean {{links.${guess}}}?` : '';
      this.report(read.loc, `unknown variable {{${shown}}} (links has: ${LINK_FIELDS.join(', ')})${hint}`);
      return;
    }
    const rootKind = TEMPLATE_FIELDS[root];
    if (rootKind === undefined) {
      const known = Object.keys(TEMPLATE_FIELDS);
      const guess = closest(root, known);
      const hint = guess ? `; did you mean {{${guess}}}?` : '';
      this.report(read.loc, `unknown variable {{${shown}}} (known: ${known.join(', ')})${hint}`);
      return;
    }
    if (root === 'address' && child !== undefined && !Object.hasOwn(ADDRESS_FIELDS, child)) {
      const known = Object.keys(ADDRESS_FIELDS);
      const guess = closest(child, known);
      const hint = guess ? `; did you mean {{address.${guess}}}?` : '';
      this.report(read.loc, `unknown variable {{${shown}}} (address has: ${known.join(', ')})${hint}`);
      return;
    }
    if (safe) return;
    const unguarded = optionalPrefixLengths(path).some(
      (n) => !scope.guards.some((g) => g.length >= n && path.slice(0, n).every((seg, i) => g[i] === seg)),
    );
    if (!unguarded) return;
    const fallback = root === 'firstName' && path.length === 1 ? 'there' : '…';
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

/**
 * Lengths of the prefixes of `path` that some contacts lack: for `address.line2`, both
 * `address` (1) and `address.line2` (2); for `attributes.plan.name`, 1, 2 and 3.
 */
function optionalPrefixLengths(path: readonly string[]): number[] {
  const [root, child] = path;
  const lengths: number[] = [];
  if (root === undefined) return lengths;
  if (TEMPLATE_FIELDS[root] === 'optional') lengths.push(1);
  if (root === 'address' && child !== undefined) {
    if (ADDRESS_FIELDS[child as keyof PostalAddress] === 'optional') lengths.push(2);
  } else if (root === 'attributes') {
    for (let n = 2; n <= path.length; n++) lengths.push(n);
  }
  return lengths;
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
