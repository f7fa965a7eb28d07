import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateError } from '../../src/errors.js';
import type { FileProblem } from '../../src/errors.js';
import type { TemplateContext } from '../../src/sequences/contact.js';
import { checkTemplateVariables } from '../../src/templates/check-variables.js';
import { TemplateCache, compileTemplate } from '../../src/templates/compile.js';
import { loadTemplate, parseTemplateFile } from '../../src/templates/template-files.js';
import type { TemplateSource } from '../../src/templates/template-files.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nurture-templates-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
/** Writes `<name>.hbs` (and `<name>.txt.hbs`) in the temp folder and returns the name. */
async function write(html: string, text?: string): Promise<string> {
  const name = `t${++counter}`;
  await writeFile(path.join(dir, `${name}.hbs`), html);
  if (text !== undefined) await writeFile(path.join(dir, `${name}.txt.hbs`), text);
  return name;
}

async function load(html: string, text?: string): Promise<TemplateSource> {
  return loadTemplate(dir, await write(html, text));
}

/** A TemplateSource for checks that do not need files. */
function source(html: string, extra: Partial<TemplateSource> = {}): TemplateSource {
  return { name: 'inline', htmlFile: 'templates/inline.hbs', html, bodyLine: 1, ...extra };
}

const contact: TemplateContext = {
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  phone: null,
  address: { line1: '12 St James Sq', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
  attributes: { industry: 'Engines' },
  tags: ['vip', 'math'],
};

const anonymous: TemplateContext = {
  email: 'someone@example.com',
  firstName: null,
  lastName: null,
  phone: null,
  address: null,
  attributes: {},
  tags: [],
};

async function templateErrorOf(promise: Promise<unknown>): Promise<TemplateError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TemplateError);
  return err as TemplateError;
}

function messages(problems: FileProblem[]): string[] {
  return problems.map((p) => p.message);
}

describe('loadTemplate', () => {
  it('splits the front matter from the HTML body and records where the body starts', async () => {
    const src = await load('---\nsubject: Welcome, {{default firstName "friend"}}\npreheader: Your guide\n---\n<p>Hi</p>\n');
    expect(src.subject).toBe('Welcome, {{default firstName "friend"}}');
    expect(src.subjectLine).toBe(2);
    expect(src.preheader).toBe('Your guide');
    expect(src.html).toBe('<p>Hi</p>\n');
    expect(src.bodyLine).toBe(5);
    expect(src.htmlFile).toBe(path.join(dir, `t${counter}.hbs`));
    expect(src.text).toBeUndefined();
    expect(src.textFile).toBeUndefined();
  });

  it('reads a file without front matter as all body', async () => {
    const src = await load('<p>Hello</p>');
    expect(src.subject).toBeUndefined();
    expect(src.html).toBe('<p>Hello</p>');
    expect(src.bodyLine).toBe(1);
  });

  it('accepts an empty front matter and Windows line endings', async () => {
    expect((await load('---\n---\n<p>x</p>')).bodyLine).toBe(3);
    const src = await load('---\r\nsubject: Hi\r\n---\r\n<p>x</p>\r\n');
    expect(src.subject).toBe('Hi');
    expect(src.html).toBe('<p>x</p>\n');
  });

  it('reads the plain-text part when there is one', async () => {
    const src = await load('<p>Hi</p>', 'Hi {{email}}\n');
    expect(src.text).toBe('Hi {{email}}\n');
    expect(src.textFile).toBe(path.join(dir, `t${counter}.txt.hbs`));
  });

  it('finds templates in subfolders', async () => {
    await mkdir(path.join(dir, 'onboarding'), { recursive: true });
    await writeFile(path.join(dir, 'onboarding', 'day-1.hbs'), '<p>Day 1</p>');
    const src = await loadTemplate(dir, 'onboarding/day-1');
    expect(src.name).toBe('onboarding/day-1');
    expect(src.html).toBe('<p>Day 1</p>');
  });

  it('names the expected path when the template does not exist', async () => {
    const err = await templateErrorOf(loadTemplate(dir, 'welcom'));
    const expected = path.join(dir, 'welcom.hbs');
    expect(err.problems[0]?.file).toBe(expected);
    expect(err.message).toContain(`expected the file ${expected}`);
  });

  it('refuses names that are not template names', async () => {
    for (const name of ['../secret', 'Welcome', '-x', 'a//b', 'a/', 'a.b']) {
      const err = await templateErrorOf(loadTemplate(dir, name));
      expect(err.message).toContain('is not a valid template name');
    }
  });

  it('reports YAML errors with the file and line', async () => {
    const name = await write('---\nsubject: Hi\npreheader: [oops\n---\n<p>x</p>');
    const err = await templateErrorOf(loadTemplate(dir, name));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatchObject({ file: path.join(dir, `${name}.hbs`), severity: 'error' });
    expect(err.problems[0]?.line).toBeGreaterThanOrEqual(3);
    expect(err.message).toContain('not valid YAML');
  });

  it('reports unknown front matter fields with their line', async () => {
    const err = await templateErrorOf(load('---\nsubject: Hi\nsubjet: Oops\n---\n<p>x</p>'));
    expect(err.problems).toEqual([
      expect.objectContaining({ path: 'subjet', line: 3, message: expect.stringContaining('unknown front matter field "subjet"') }),
    ]);
  });

  it('requires the subject to be text', async () => {
    const err = await templateErrorOf(load('---\nsubject: 42\n---\n<p>x</p>'));
    expect(err.problems).toEqual([
      expect.objectContaining({ path: 'subject', line: 2, message: 'subject must be text, but it is a number (42): put it in quotes' }),
    ]);
  });

  it('explains that a subject starting with {{ must be quoted', async () => {
    const err = await templateErrorOf(load('---\nsubject: {{firstName}}\n---\n<p>x</p>'));
    expect(err.problems[0]?.line).toBe(2);
    expect(err.message).toContain('must be in quotes');
  });

  it('reports a front matter that is never closed', async () => {
    const err = await templateErrorOf(load('---\nsubject: Hi\n<p>x</p>'));
    expect(err.problems[0]).toMatchObject({ line: 1, message: expect.stringContaining('never closed') });
  });

  it('parses a file held in memory the same way', () => {
    expect(parseTemplateFile('x.hbs', '---\nsubject: S\n---\nbody')).toEqual({
      subject: 'S',
      subjectLine: 2,
      html: 'body',
      bodyLine: 4,
    });
  });
});

describe('compileTemplate / render', () => {
  it('renders subject, HTML and the plain-text part', async () => {
    const src = await load(
      '---\nsubject: Hello {{firstName}}\n---\n<p>Hi {{firstName}}</p>',
      'Hi {{firstName}}, you are tagged {{#each tags}}{{this}} {{/each}}\n',
    );
    expect(compileTemplate(src).render(contact)).toEqual({
      subject: 'Hello Ada',
      html: '<p>Hi Ada</p>',
      text: 'Hi Ada, you are tagged vip math \n',
    });
  });

  it('derives the plain text from the HTML when there is no text part', async () => {
    const src = await load(
      '<html><head><style>p { color: red }</style></head><body><h1>Welcome</h1><p>Hi {{firstName}},</p><p>Read <a href="https://example.com/guide">the guide</a>.</p><img src="https://example.com/logo.png" alt="Logo"></body></html>',
    );
    const { text } = compileTemplate(src).render(contact);
    expect(text).toContain('WELCOME');
    expect(text).toContain('Hi Ada,');
    expect(text).toContain('the guide [https://example.com/guide]');
    expect(text).not.toContain('color');
    expect(text).not.toContain('Logo');
    expect(text).not.toContain('<');
  });

  it('escapes HTML in the body but not in the subject or the text part', () => {
    const tricky = { ...contact, firstName: 'Tom & "Jerry" <b>' };
    const compiled = compileTemplate(
      source('<p>Hi {{firstName}}</p>', { subject: 'For {{firstName}}', text: 'Hi {{firstName}}' }),
    );
    const out = compiled.render(tricky);
    expect(out.subject).toBe('For Tom & "Jerry" <b>');
    expect(out.text).toBe('Hi Tom & "Jerry" <b>');
    expect(out.html).toBe('<p>Hi Tom &amp; &quot;Jerry&quot; &lt;b&gt;</p>');
  });

  it('renders the subject on one line', () => {
    const compiled = compileTemplate(source('x', { subject: 'Hi\n{{#if firstName}}  {{firstName}}{{/if}}  !' }));
    expect(compiled.render(contact).subject).toBe('Hi Ada !');
    expect(compiled.render(anonymous).subject).toBe('Hi !');
  });

  it('gives an empty subject when the template has none', () => {
    expect(compileTemplate(source('x')).render(contact).subject).toBe('');
  });

  it('has a default helper for missing values', () => {
    const compiled = compileTemplate(source('Hi {{default firstName "there"}}, from {{default address.city "afar"}}'));
    expect(compiled.render(contact).html).toBe('Hi Ada, from London');
    expect(compiled.render(anonymous).html).toBe('Hi there, from afar');
    expect(compiled.render({ ...anonymous, firstName: '  ' }).html).toBe('Hi there, from afar');
  });

  it('escapes the fallback of default in HTML', () => {
    expect(compileTemplate(source('{{default firstName "<you>"}}')).render(anonymous).html).toBe('&lt;you&gt;');
  });

  it('does not register its helper on the global Handlebars', async () => {
    const { default: Handlebars } = await import('handlebars');
    expect(Handlebars.helpers['default']).toBeUndefined();
  });

  it('puts the preheader, hidden, at the top of the body and not in the text', () => {
    const compiled = compileTemplate(
      source('<html><body class="x"><p>Body</p></body></html>', { preheader: 'Ideas for {{default firstName "you"}} & co' }),
    );
    const out = compiled.render(contact);
    expect(out.html).toMatch(/^<html><body class="x"><div style="display:none;[^"]*">Ideas for Ada &amp; co<\/div><p>Body<\/p>/);
    expect(out.text).toBe('Body');
  });

  it('reports syntax errors in the body with the file line', async () => {
    const name = await write('---\nsubject: Hi\n---\n<p>one</p>\n{{#if firstName}}\n<p>two</p>\n');
    const src = await loadTemplate(dir, name);
    let err: unknown;
    try {
      compileTemplate(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    const [problem] = (err as TemplateError).problems;
    expect(problem).toMatchObject({ file: path.join(dir, `${name}.hbs`), path: 'html', severity: 'error' });
    // The body's line 4 (after the unclosed block) is line 7 of the file.
    expect(problem?.line).toBe(7);
    expect(problem?.message).toContain('syntax error');
  });

  it('reports mismatched blocks at their line', () => {
    expect(() => compileTemplate(source('a\nb\n{{#if firstName}}x{{/unless}}', { bodyLine: 5 }))).toThrowError(
      expect.objectContaining({ problems: [expect.objectContaining({ line: 7, path: 'html' })] }),
    );
  });

  it('reports syntax errors in the subject and the text part with their own files', async () => {
    const name = await write('---\nsubject: Hi {{firstName\n---\nok', 'line 1\n{{#each tags}}\n');
    const src = await loadTemplate(dir, name);
    let problems: FileProblem[] = [];
    try {
      compileTemplate(src);
    } catch (e) {
      problems = (e as TemplateError).problems;
    }
    expect(problems).toEqual([
      expect.objectContaining({ path: 'subject', file: path.join(dir, `${name}.hbs`), line: 2 }),
      expect.objectContaining({ path: 'text', file: path.join(dir, `${name}.txt.hbs`) }),
    ]);
  });
});

describe('TemplateCache', () => {
  it('loads and compiles each template once, even when asked concurrently', async () => {
    const name = await write('---\nsubject: S\n---\n<p>{{email}}</p>');
    const cache = new TemplateCache(dir);
    const [a, b] = await Promise.all([cache.get(name), cache.get(name)]);
    expect(a).toBe(b);
    await writeFile(path.join(dir, `${name}.hbs`), '<p>changed</p>');
    expect(await cache.get(name)).toBe(a);
    expect((await cache.get(name)).render(contact).html).toBe('<p>ada@example.com</p>');
    expect((await new TemplateCache(dir).get(name)).render(contact).html).toBe('<p>changed</p>');
  });

  it('does not keep a failed load, so a fixed file is picked up', async () => {
    const cache = new TemplateCache(dir);
    await expect(cache.get('later')).rejects.toBeInstanceOf(TemplateError);
    await writeFile(path.join(dir, 'later.hbs'), '<p>now</p>');
    expect((await cache.get('later')).render(contact).html).toBe('<p>now</p>');
  });
});

describe('checkTemplateVariables', () => {
  it('accepts a template that uses fields safely', () => {
    const src = source(
      [
        '<p>Hi {{default firstName "there"}},</p>',
        '{{#if firstName}}<p>{{firstName}} {{default lastName ""}}</p>{{/if}}',
        '{{#if address}}<p>{{address.city}}, {{address.country}}</p>{{/if}}',
        '{{#with address}}{{line1}} {{postalCode}}{{/with}}',
        '{{#unless phone}}no phone{{else}}{{phone}}{{/unless}}',
        '{{#each tags}}<span>{{this}} {{@index}}</span>{{/each}}',
        '{{#if attributes.industry}}{{attributes.industry}}{{/if}}',
        '{{default (lookup attributes "plan") "free"}}',
        '<p>{{email}}</p>',
      ].join('\n'),
      { subject: 'For {{default firstName "you"}}', text: '{{email}} {{#if address}}{{address.city}}{{/if}}' },
    );
    expect(checkTemplateVariables(src, { requireSubject: true })).toEqual([]);
  });

  it('reports an unknown variable with its line and the known ones', () => {
    const problems = checkTemplateVariables(source('<p>one</p>\n<p>Hi {{fisrtName}}</p>', { bodyLine: 4 }));
    expect(problems).toEqual([
      {
        file: 'templates/inline.hbs',
        path: 'html',
        line: 5,
        severity: 'error',
        message:
          'unknown variable {{fisrtName}} (known: contact, sender, links, touch, sequence, email, firstName, lastName, phone, address, attributes, tags); did you mean {{firstName}}?',
      },
    ]);
  });

  it('reports an unknown address field', () => {
    expect(messages(checkTemplateVariables(source('{{#if address}}{{address.town}}{{/if}}')))).toEqual([
      expect.stringMatching(/^unknown variable \{\{address\.town\}\} \(address has: line1, line2, city/),
    ]);
  });

  it('reports an optional field used without a guard', () => {
    expect(checkTemplateVariables(source('<p>Hi {{firstName}}</p>'))).toEqual([
      {
        file: 'templates/inline.hbs',
        path: 'html',
        line: 1,
        severity: 'error',
        message:
          '{{firstName}} may be missing for some contacts: write {{default firstName "there"}} or wrap it in {{#if firstName}}…{{/if}}',
      },
    ]);
  });

  it('accepts address.city inside {{#if address}}, but not outside it', () => {
    expect(checkTemplateVariables(source('{{#if address}}{{address.city}}{{/if}}'))).toEqual([]);
    expect(messages(checkTemplateVariables(source('{{address.city}}')))).toEqual([
      expect.stringContaining('{{address.city}} may be missing'),
    ]);
  });

  it('knows which address lines are optional', () => {
    expect(messages(checkTemplateVariables(source('{{#if address}}{{address.line2}}{{/if}}')))).toEqual([
      expect.stringContaining('{{address.line2}} may be missing'),
    ]);
    expect(checkTemplateVariables(source('{{#if address.line2}}{{address.line2}}{{/if}}'))).toEqual([]);
  });

  it('does not count the {{else}} of {{#if}} or the body of {{#unless}} as guarded', () => {
    expect(checkTemplateVariables(source('{{#if firstName}}x{{else}}{{firstName}}{{/if}}'))).toHaveLength(1);
    expect(checkTemplateVariables(source('{{#unless firstName}}{{firstName}}{{/unless}}'))).toHaveLength(1);
  });

  it('needs a guard on each attribute, since attributes is always an object', () => {
    expect(messages(checkTemplateVariables(source('{{#if attributes}}{{attributes.industry}}{{/if}}')))).toEqual([
      expect.stringContaining('{{attributes.industry}} may be missing'),
    ]);
    expect(messages(checkTemplateVariables(source('{{lookup attributes "industry"}}')))).toEqual([
      expect.stringContaining('{{lookup attributes "industry"}} may be missing'),
    ]);
  });

  it('follows {{#with}}, block params and ../', () => {
    expect(checkTemplateVariables(source('{{#with address as |a|}}{{a.city}} {{city}} {{../email}}{{/with}}'))).toEqual([]);
    expect(messages(checkTemplateVariables(source('{{#with address}}{{region}}{{/with}}')))).toEqual([
      expect.stringContaining('{{region}} may be missing'),
    ]);
  });

  it('catches contact fields read on the tag inside {{#each tags}}', () => {
    expect(messages(checkTemplateVariables(source('{{#each tags}}{{email}}{{/each}}')))).toEqual([
      expect.stringContaining('write {{@root.email}}'),
    ]);
    expect(checkTemplateVariables(source('{{#each tags as |tag|}}{{tag}} {{@root.email}}{{/each}}'))).toEqual([]);
  });

  it('reports unknown helpers', () => {
    const problems = checkTemplateVariables(source('<p>\n{{formatDate email "long"}}</p>\n{{#repeat 3}}x{{/repeat}}'));
    expect(problems).toEqual([
      expect.objectContaining({
        line: 2,
        message: 'unknown helper {{formatDate}} (available: if, unless, each, with, lookup, default, date, plural)',
      }),
      expect.objectContaining({ line: 3, message: expect.stringContaining('unknown helper {{repeat}}') }),
    ]);
  });

  it('reports partials that are not there, mustache-style sections and a default without fallback', () => {
    expect(messages(checkTemplateVariables(source('{{> footer}}')))).toEqual(['partial "footer" not found: expected the file partials/footer.hbs']);
    expect(messages(checkTemplateVariables(source('{{#firstName}}x{{/firstName}}')))).toEqual([
      expect.stringContaining('write {{#if firstName}}'),
    ]);
    expect(messages(checkTemplateVariables(source('{{default firstName}}')))).toEqual([
      expect.stringContaining('default takes a value and a fallback'),
    ]);
  });

  it('places problems of the subject and the text part in their files and lines', async () => {
    const name = await write('---\npreheader: x\nsubject: Hi {{firstName}}\n---\n<p>ok</p>', 'line 1\n{{lastName}}\n');
    const src = await loadTemplate(dir, name);
    expect(checkTemplateVariables(src)).toEqual([
      expect.objectContaining({ file: path.join(dir, `${name}.hbs`), path: 'subject', line: 3 }),
      expect.objectContaining({ file: path.join(dir, `${name}.txt.hbs`), path: 'text', line: 2 }),
    ]);
  });

  it('requires a subject for email templates when asked', () => {
    expect(checkTemplateVariables(source('<p>x</p>'))).toEqual([]);
    expect(checkTemplateVariables(source('<p>x</p>'), { requireSubject: true })).toEqual([
      expect.objectContaining({ path: 'subject', severity: 'error', message: expect.stringContaining('needs a subject') }),
    ]);
  });

  it('returns syntax errors as problems instead of throwing', () => {
    expect(checkTemplateVariables(source('ok\n{{#if firstName}}'))).toEqual([
      expect.objectContaining({ path: 'html', message: expect.stringContaining('syntax error') }),
    ]);
  });
});
