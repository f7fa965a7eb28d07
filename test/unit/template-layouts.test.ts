import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateError } from '../../src/errors.js';
import type { Contact } from '../../src/sequences/contact.js';
import { checkTemplateVariables } from '../../src/templates/check-variables.js';
import { compileTemplate } from '../../src/templates/compile.js';
import { renderContext } from '../../src/templates/render-context.js';
import type { RenderContext } from '../../src/templates/render-context.js';
import { loadTemplate, storedTemplate, storedTemplatesSchema } from '../../src/templates/template-files.js';

let dir: string;

async function put(files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nurture-layouts-'));
  await put({
    'layouts/brand.hbs': '<html><body><header>{{default sender.name "Acme"}}</header>{{{body}}}{{> footer}}</body></html>',
    'layouts/brand.txt.hbs': '{{{body}}}\n--\nUnsubscribe: {{links.unsubscribe}}\n',
    'layouts/default.hbs': '<div class="default">{{{body}}}</div>',
    'partials/footer.hbs': '<footer><a href="{{links.unsubscribe}}">Unsubscribe</a> {{> legal}}</footer>',
    'partials/legal.hbs': '<small>© Acme</small>',
    'partials/greeting.hbs': 'Hi {{default contact.firstName "there"}}',
    'branded.hbs': '---\nsubject: "Hello {{default firstName \\"you\\"}}"\nlayout: brand\n---\n<p>{{> greeting}}, welcome.</p>',
    'branded.txt.hbs': '{{> greeting}}, welcome.',
    'plain.hbs': '---\nsubject: Plain\nlayout: none\n---\n<p>Plain {{email}}</p>',
    'defaulted.hbs': '---\nsubject: Defaulted\n---\n<p>In the default layout</p>',
    'dates.hbs':
      '---\nsubject: Dates\nlayout: none\n---\n' +
      '{{date touch.sentAt "yyyy-MM-dd HH:mm ZZZZ"}}|{{date touch.sentAt "long"}}|{{date touch.sentAt "HH:mm" zone="UTC"}}|' +
      '{{#if attributes.renewsOn}}{{date attributes.renewsOn "d LLL"}}{{/if}}',
    'plurals.hbs':
      '---\nsubject: "{{plural contact.tags.length \\"# tag\\" \\"# tags\\"}}"\nlayout: none\n---\n' +
      '{{#if attributes.seats}}{{plural attributes.seats "# seat" "# seats"}}{{/if}}|{{plural 1 "day"}}|{{plural 2 "day"}}|{{plural 0 "# day"}}',
    'namespaced.hbs':
      '---\nsubject: For {{contact.email}}\nlayout: none\n---\n' +
      '{{contact.email}}|{{email}}|{{default contact.fullName "?"}}|{{contact.timezone}}|{{sender.email}}|{{touch.step}}|{{touch.template}}|' +
      '{{#if sequence}}{{sequence.id}}:{{default sequence.name "unnamed"}}{{/if}}|{{links.view}}|{{#each contact.tags}}[{{this}}]{{/each}}',
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const contact: Contact = {
  id: '00000000-0000-4000-8000-000000000001',
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  phone: null,
  timezone: 'Asia/Tokyo',
  address: null,
  attributes: { seats: 3, renewsOn: '2027-03-01' },
  tags: ['vip', 'math'],
  score: 0,
  status: 'subscriber',
  unsubscribedAt: null,
  bouncedAt: null,
};

const LINKS = { unsubscribe: 'https://n.test/u/T', preferences: 'https://n.test/p/T', view: 'https://n.test/v/T' };
// 2026-12-02 23:30 UTC is already 3 December in Tokyo.
const NOW = DateTime.fromISO('2026-12-02T23:30:00Z', { zone: 'utc' });

function ctxFor(c: Contact, extra: Partial<Parameters<typeof renderContext>[0]> = {}): RenderContext {
  return renderContext({
    contact: c,
    links: LINKS,
    touch: { id: 'touch-1', stepId: 'welcome', template: 'welcome' },
    sequence: { id: 'onboarding', name: 'Onboarding' },
    from: 'Acme Team <hello@acme.example>',
    now: NOW,
    defaultZone: 'America/Chicago',
    ...extra,
  });
}

async function render(name: string, c: Contact = contact, extra: Partial<Parameters<typeof renderContext>[0]> = {}) {
  return compileTemplate(await loadTemplate(dir, name)).render(ctxFor(c, extra));
}

describe('layouts and partials', () => {
  it('wraps the body in the layout named in the front matter, with partials inside partials', async () => {
    const out = await render('branded');
    expect(out.subject).toBe('Hello Ada');
    expect(out.html).toBe(
      '<html><body><header>Acme Team</header><p>Hi Ada, welcome.</p><footer><a href="https://n.test/u/T">Unsubscribe</a> <small>© Acme</small></footer></body></html>',
    );
    // The template's own text part, in the layout's text part.
    expect(out.text).toBe('Hi Ada, welcome.\n--\nUnsubscribe: https://n.test/u/T\n');
  });

  it('uses layouts/default.hbs when the template names none, and no layout with layout: none', async () => {
    expect((await render('defaulted')).html).toBe('<div class="default"><p>In the default layout</p></div>');
    expect((await render('plain')).html).toBe('<p>Plain ada@example.com</p>');
  });

  it('always has a plain-text part: derived from the whole HTML (layout included) without a .txt.hbs', async () => {
    const out = await render('defaulted');
    expect(out.text).toBe('In the default layout');
  });

  it('reads the layout and partials with the template, so they are stored and pinned with it', async () => {
    const src = await loadTemplate(dir, 'branded');
    expect(src.layout).toMatchObject({ name: 'brand', htmlFile: path.join(dir, 'layouts/brand.hbs'), textFile: path.join(dir, 'layouts/brand.txt.hbs') });
    expect(Object.keys(src.partials ?? {}).sort()).toEqual(['footer', 'greeting', 'legal']);
    const stored = storedTemplate(src);
    // What is stored parses back and renders the same without the folder.
    const back = storedTemplatesSchema.parse(JSON.parse(JSON.stringify({ branded: stored })));
    expect(compileTemplate(back['branded']!.source).render(ctxFor(contact))).toEqual(await render('branded'));

    // An edit of a partial alone changes the hash, so it makes a new sequence version.
    await put({ 'partials/legal.hbs': '<small>© Acme 2027</small>' });
    const edited = storedTemplate(await loadTemplate(dir, 'branded'));
    expect(edited.hash).not.toBe(stored.hash);
    await put({ 'partials/legal.hbs': '<small>© Acme</small>' });
    expect(storedTemplate(await loadTemplate(dir, 'branded')).hash).toBe(stored.hash);
  });

  it('keeps the hash of a template without layout or partials as it was', async () => {
    const src = await loadTemplate(dir, 'plain');
    expect(src.layout).toBeUndefined();
    expect(src.partials).toBeUndefined();
    // The hash as published before layouts existed: over name, subject, preheader, html and text only.
    const before = createHash('sha256').update(JSON.stringify([src.name, src.subject ?? null, src.preheader ?? null, src.html, src.text ?? null])).digest('hex').slice(0, 16);
    expect(storedTemplate(src).hash).toBe(before);
  });

  it('names the file and line of a missing layout or partial', async () => {
    await put({
      'nolayout.hbs': '---\nsubject: x\nlayout: fancy\n---\n<p>x</p>',
      'nopartial.hbs': '---\nsubject: x\nlayout: none\n---\n<p>x</p>\n{{> missing}}',
    });
    const e1 = await loadTemplate(dir, 'nolayout').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(TemplateError);
    expect((e1 as TemplateError).problems[0]).toMatchObject({ file: path.join(dir, 'nolayout.hbs'), line: 3, path: 'layout' });
    expect((e1 as TemplateError).problems[0]!.message).toContain('layout "fancy" not found');
    const e2 = await loadTemplate(dir, 'nopartial').catch((e: unknown) => e);
    expect((e2 as TemplateError).problems[0]).toMatchObject({ file: path.join(dir, 'nopartial.hbs'), line: 6 });
    expect((e2 as TemplateError).problems[0]!.message).toContain('partial "missing" not found');
  });
});

describe('the render context', () => {
  it('has namespaced names and keeps the flat ones', async () => {
    expect((await render('namespaced')).html).toBe(
      'ada@example.com|ada@example.com|Ada Lovelace|Asia/Tokyo|hello@acme.example|welcome|welcome|onboarding:Onboarding|https://n.test/v/T|[vip][math]',
    );
    const anonymous = { ...contact, firstName: null, lastName: null, timezone: null, tags: [] };
    // Without a zone of its own, the contact's dates are in the sequence's zone, else the default one.
    expect((await render('namespaced', anonymous, { sequence: null })).html).toBe('ada@example.com|ada@example.com|?|America/Chicago|hello@acme.example|welcome|welcome||https://n.test/v/T|');
  });

  it('shows dates in the contact\'s zone', async () => {
    expect((await render('dates')).html).toBe('2026-12-03 08:30 GMT+9|December 3, 2026|23:30|1 Mar');
    const london = { ...contact, timezone: 'Europe/London', attributes: {} };
    expect((await render('dates', london)).html).toBe('2026-12-02 23:30 GMT|December 2, 2026|23:30|');
  });

  it('picks the plural form by the count', async () => {
    const out = await render('plurals');
    expect(out.subject).toBe('2 tags');
    expect(out.html).toBe('3 seats|day|days|0 days');
    const one = { ...contact, attributes: { seats: 1 }, tags: ['vip'] };
    const r = await render('plurals', one);
    expect([r.subject, r.html]).toEqual(['1 tag', '1 seat|day|days|0 days']);
  });
});

describe('nurture validate on the new names', () => {
  it('accepts the namespaced names, layouts and partials', async () => {
    for (const name of ['branded', 'plain', 'defaulted', 'dates', 'plurals', 'namespaced']) {
      expect(checkTemplateVariables(await loadTemplate(dir, name), { requireSubject: true }), name).toEqual([]);
    }
  });

  it('refuses unknown names with their file and line, in templates, layouts and partials', async () => {
    await put({
      'layouts/broken.hbs': '<html>\n{{{body}}}\n{{links.unsubscrbe}}</html>',
      'partials/broken.hbs': '<p>\n{{sender.phone}}</p>',
      'unknown.hbs': '---\nsubject: x\nlayout: broken\n---\n<p>{{contact.frstName}}</p>\n{{touch.sentAt}} {{sequence.name}}\n{{> broken}}\n{{body}}',
    });
    const problems = checkTemplateVariables(await loadTemplate(dir, 'unknown'));
    expect(problems.map((p) => [path.relative(dir, p.file), p.line, p.message])).toEqual([
      ['unknown.hbs', 5, expect.stringMatching(/^unknown variable \{\{contact\.frstName\}\} \(contact has: .*\); did you mean \{\{contact\.firstName\}\}\?$/)],
      ['unknown.hbs', 6, expect.stringContaining('{{sequence.name}} may be missing')],
      ['partials/broken.hbs', 2, 'unknown variable {{sender.phone}} (sender has: name, email)'],
      ['unknown.hbs', 8, expect.stringContaining('unknown variable {{body}}')],
      ['layouts/broken.hbs', 3, expect.stringContaining('unknown variable {{links.unsubscrbe}} (links has: unsubscribe, preferences, view); did you mean {{links.unsubscribe}}?')],
    ]);
  });

  it('checks the arguments of date and plural', () => {
    const src = { name: 'inline', htmlFile: 'inline.hbs', html: '{{date}}\n{{plural 3}}\n{{date attributes.when "long"}}', bodyLine: 1 };
    expect(checkTemplateVariables(src).map((p) => [p.line, p.message])).toEqual([
      [1, expect.stringContaining('date takes a value and a format')],
      [2, expect.stringContaining('plural takes a count, a singular and a plural')],
    ]);
  });
});
