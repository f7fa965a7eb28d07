import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { validateProject } from '../../src/app/validate-project.js';
import { loadConfig } from '../../src/config.js';
import { formatProblem } from '../../src/errors.js';
import { escapeHtml } from '../../src/http/html-page.js';
import { preferencesPage } from '../../src/http/pages/subscription-pages.js';
import { loadTopicsFile, parseTopics } from '../../src/sequences/topics.js';
import { checkTemplateVariables } from '../../src/templates/check-variables.js';
import { compileTemplate } from '../../src/templates/compile.js';
import { listUnsubscribeHeaders, unsubscribeTokenOfSubject } from '../../src/templates/list-unsubscribe.js';
import type { TemplateSource } from '../../src/templates/template-files.js';

const template = (html: string): TemplateSource => ({ name: 't', htmlFile: 'templates/t.hbs', subject: 'Hi', subjectLine: 2, html, bodyLine: 4 });

describe('topics.yaml', () => {
  it('reads topics', () => {
    const r = parseTopics('topics:\n  - id: newsletter\n    name: Newsletter\n    description: Monthly\n  - id: tips\n    name: Tips\n', 'topics.yaml');
    expect(r).toEqual({ ok: true, topics: [{ id: 'newsletter', name: 'Newsletter', description: 'Monthly' }, { id: 'tips', name: 'Tips', description: undefined }] });
  });

  it('names file, line and field of every problem', () => {
    const r = parseTopics('topics:\n  - id: News\n    name: x\n  - id: tips\n    nme: Tips\n  - id: tips\n    name: Again\n', 'topics.yaml');
    expect(r.ok).toBe(false);
    const lines = r.ok ? [] : r.problems.map(formatProblem);
    expect(lines).toEqual([
      'topics.yaml:2: topics[0].id: use lower-case letters, digits, "-" or "_" (e.g. "newsletter")',
      'topics.yaml:4: topics[1].name: is required: the name people see on the preference page',
      'topics.yaml:5: topics[1].nme: unknown field "nme": did you mean "name"?',
    ]);
    const dup = parseTopics('topics:\n  - id: tips\n    name: Tips\n  - id: tips\n    name: Again\n', 'topics.yaml');
    expect(dup.ok ? [] : dup.problems.map(formatProblem)).toEqual(['topics.yaml:4: topics[1].id: topic "tips" is declared twice']);
    const yaml = parseTopics('topics: [\n', 'topics.yaml');
    expect(yaml.ok ? '' : formatProblem(yaml.problems[0]!)).toMatch(/^topics\.yaml:\d+: not valid YAML/);
  });

  it('treats a missing file as no topics', async () => {
    expect(await loadTopicsFile(path.join(tmpdir(), 'no-such-dir-nurture', 'topics.yaml'))).toEqual({ ok: true, topics: [] });
  });
});

describe('topic: in sequence files', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'nurture-topics-'));
    await mkdir(path.join(root, 'sequences'));
    await mkdir(path.join(root, 'templates'));
    await writeFile(path.join(root, 'templates', 'welcome.hbs'), '---\nsubject: Hi\n---\n<p>Hi</p><a href="{{links.unsubscribe}}">Unsubscribe</a>\n');
    await writeFile(path.join(root, 'sequences', 'news.yaml'), 'id: news\ntrigger: { event: opt_in }\ntopic: newsleter\nsteps:\n  - email: welcome\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is an error naming file, line and field when the topic is not declared', async () => {
    const topics = [{ id: 'newsletter', name: 'Newsletter', description: undefined }];
    const check = await validateProject(path.join(root, 'sequences'), path.join(root, 'templates'), topics);
    expect(check.problems.map(formatProblem)).toEqual([
      `${path.join(root, 'sequences', 'news.yaml')}:3: topic: topic "newsleter" is not declared in the topics file (declared: newsletter): did you mean "newsletter"?`,
    ]);
    await writeFile(path.join(root, 'sequences', 'news.yaml'), 'id: news\ntrigger: { event: opt_in }\ntopic: newsletter\nsteps:\n  - email: welcome\n');
    const ok = await validateProject(path.join(root, 'sequences'), path.join(root, 'templates'), topics);
    expect(ok.problems).toEqual([]);
    expect(ok.sequences[0]!.program.definition.topic).toBe('newsletter');
    const none = await validateProject(path.join(root, 'sequences'), path.join(root, 'templates'));
    expect(none.problems.map((p) => p.message)).toEqual(['topic "newsletter" is not declared in the topics file (no topics are declared (topics.yaml, --topics FILE))']);
  });
});

describe('links in templates', () => {
  it('accepts links.unsubscribe, links.preferences and links.view, and no other name under links', () => {
    expect(checkTemplateVariables(template('<a href="{{links.unsubscribe}}">u</a> {{links.preferences}} {{links.view}}'))).toEqual([]);
    expect(checkTemplateVariables(template('{{links.unsubscrib}}')).map((p) => p.message)).toEqual([
      'unknown variable {{links.unsubscrib}} (links has: unsubscribe, preferences, view); did you mean {{links.unsubscribe}}?',
    ]);
  });

  it('renders the links given to the template', () => {
    const t = compileTemplate(template('<a href="{{links.unsubscribe}}">Unsubscribe</a>'));
    const links = { unsubscribe: 'https://go.example.com/u/abc.def', preferences: 'https://go.example.com/p/x.y', view: 'https://go.example.com/v/x.y' };
    const r = t.render({ email: 'a@example.com', firstName: null, lastName: null, phone: null, address: null, attributes: {}, tags: [], links });
    expect(r.html).toContain('href="https://go.example.com/u/abc.def"');
    expect(r.text).toContain('https://go.example.com/u/abc.def');
  });
});

describe('List-Unsubscribe headers', () => {
  it('give the one-click URL and a mailto: whose subject carries the token (RFC 2369, RFC 8058)', () => {
    expect(listUnsubscribeHeaders('https://go.example.com/u/dC5hYmM.Zm9vYmFy', 'unsubscribe@example.com')).toEqual({
      'List-Unsubscribe': '<https://go.example.com/u/dC5hYmM.Zm9vYmFy>, <mailto:unsubscribe@example.com?subject=unsubscribe%20dC5hYmM.Zm9vYmFy>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });

  it('reads the token back from the subject of a mailed request, whatever a mail client puts before it', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{1,30}$/), fc.constantFrom('', 'Re: ', 'Fwd: '), (token, prefix) => {
        const h = listUnsubscribeHeaders(`https://x.test/u/${token}`, 'u@x.test')['List-Unsubscribe']!;
        const subject = decodeURIComponent(/subject=([^>]+)>/.exec(h)![1]!);
        expect(unsubscribeTokenOfSubject(`${prefix}${subject}`)).toBe(token);
      }),
    );
  });
});

describe('settings', () => {
  it('derives the mailto: address from NURTURE_FROM, or takes NURTURE_UNSUBSCRIBE_MAILTO', () => {
    expect(loadConfig({ NURTURE_FROM: 'Acme <news@acme.test>' }).unsubscribeMailto).toBe('unsubscribe@acme.test');
    expect(loadConfig({ NURTURE_UNSUBSCRIBE_MAILTO: 'leave@acme.test' }).unsubscribeMailto).toBe('leave@acme.test');
    expect(() => loadConfig({ NURTURE_UNSUBSCRIBE_MAILTO: 'Acme <leave@acme.test>' })).toThrow(/NURTURE_UNSUBSCRIBE_MAILTO: is not a bare email address/);
  });

  it('takes the three DKIM settings together or none', () => {
    expect(loadConfig({}).dkim).toBeUndefined();
    expect(loadConfig({ NURTURE_DKIM_DOMAIN: 'acme.test', NURTURE_DKIM_SELECTOR: 's1', NURTURE_DKIM_KEY_FILE: '/k.pem' }).dkim).toEqual({ domain: 'acme.test', selector: 's1', keyFile: '/k.pem' });
    expect(() => loadConfig({ NURTURE_DKIM_DOMAIN: 'acme.test' })).toThrow(/go together/);
  });
});

describe('pages', () => {
  it('escape everything they show', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(escapeHtml(s)).not.toMatch(/[<>"']/);
      }),
    );
    const html = preferencesPage({ email: '<b>@x.test', unsubscribed: false, blocked: [], topics: [{ id: 'n', name: '<script>', description: undefined, subscribed: true }] });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>@');
  });
});
