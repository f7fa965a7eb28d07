import { describe, expect, it } from 'vitest';
import { publishedVersion, templateNames, withSources } from '../../src/engine/published-templates.js';
import { versionOf } from '../../src/sequences/compile.js';
import type { TemplateContext } from '../../src/sequences/contact.js';
import { TemplateCache } from '../../src/templates/compile.js';
import { parseTemplateFile, storedTemplate } from '../../src/templates/template-files.js';
import type { TemplateSource } from '../../src/templates/template-files.js';
import { programFromYaml } from '../support/programs.js';

const program = programFromYaml('id: s\ntrigger: { event: opt_in }\nsteps:\n  - email: welcome\n  - postcard: card\n  - email: welcome\n');
const waitsOnly = programFromYaml('id: w\ntrigger: { event: opt_in }\nsteps:\n  - wait: 1 day\n  - call: Say hi\n');

function source(name: string, text: string, dir = '/a'): TemplateSource {
  return { name, htmlFile: `${dir}/${name}.hbs`, ...parseTemplateFile(`${dir}/${name}.hbs`, text) };
}

describe('the version id of a published sequence', () => {
  const a = { welcome: storedTemplate(source('welcome', '---\nsubject: A\n---\n<p>A</p>')), card: storedTemplate(source('card', '<p>card</p>')) };

  it('names each template once', () => {
    expect(templateNames(program)).toEqual(['card', 'welcome']);
  });

  it('changes when only a template changes, and not when the same text is read from another folder', () => {
    const b = { ...a, welcome: storedTemplate(source('welcome', '---\nsubject: B\n---\n<p>A</p>')) };
    const elsewhere = { welcome: storedTemplate(source('welcome', '---\nsubject: A\n---\n<p>A</p>', '/elsewhere')), card: a.card };
    expect(publishedVersion(program, b)).not.toBe(publishedVersion(program, a));
    expect(publishedVersion(program, elsewhere)).toBe(publishedVersion(program, a));
  });

  it('stays the definition hash for a sequence that names no template (as stored before templates were)', () => {
    expect(publishedVersion(waitsOnly, {})).toBe(versionOf(waitsOnly.definition));
  });

  it('is left alone by validation when a template could not be read', () => {
    const s = { file: 's.yaml', program };
    expect(withSources(s, new Map([['welcome', source('welcome', '<p>x</p>')]]))).toBe(s);
    const full = withSources(s, new Map([['welcome', source('welcome', '<p>x</p>')], ['card', source('card', '<p>c</p>')]]));
    expect(Object.keys(full.templates ?? {})).toEqual(['card', 'welcome']);
    expect(full.program.version).toBe(publishedVersion(program, full.templates!));
  });
});

describe('TemplateCache.fromStored', () => {
  it('compiles a stored template once per hash, without a templates folder', () => {
    const cache = new TemplateCache('/no/such/folder');
    const t = storedTemplate(source('welcome', '---\nsubject: Hi {{default firstName "you"}}\n---\n<p>Hello</p>'));
    const first = cache.fromStored(t);
    expect(cache.fromStored({ hash: t.hash, source: { ...t.source } })).toBe(first);
    const ctx: TemplateContext = { email: 'a@example.com', firstName: 'Ann', lastName: null, phone: null, address: null, tags: [], attributes: {} };
    expect(first.render(ctx).subject).toBe('Hi Ann');
  });
});
