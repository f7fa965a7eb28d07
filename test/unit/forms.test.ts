import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import type { FormDefinition } from '../../src/forms/form-config.js';
import { parseForms, wordingHash } from '../../src/forms/form-config.js';
import { checkOrigin, formOptInEvent, readSubmission } from '../../src/forms/submission.js';

const GOOD = `forms:
  news:
    source: website
    consent: "Yes, send me the newsletter."
    fields:
      firstName: required
      company: { to: attributes.org, max: 10 }
    origins: [https://www.example.com]
    double_opt_in: { template: confirm, expires: 2 days }
`;

function form(text = GOOD, id = 'news'): FormDefinition {
  const r = parseForms(text, 'forms.yaml');
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
  return r.value.forms.get(id)!;
}

describe('forms.yaml', () => {
  it('reads a form with its fields, targets, defaults and a version that covers its definition', () => {
    const f = form();
    expect(f).toMatchObject({
      id: 'news',
      source: 'website',
      consentHash: wordingHash('Yes, send me the newsletter.'),
      honeypot: 'nurture_hp',
      redirect: undefined,
      fields: [
        { name: 'firstName', required: true, target: { kind: 'contact', field: 'firstName' }, max: 500 },
        { name: 'company', required: false, target: { kind: 'attribute', name: 'org' }, max: 10 },
      ],
      doubleOptIn: { template: 'confirm', expires: { kind: 'calendar', parts: { days: 2 } } },
    });
    expect(f.version).toMatch(/^[0-9a-f]{12}$/);
    // New wording, new version: the consent history says which text each person saw.
    expect(form(GOOD.replace('the newsletter', 'the weekly newsletter')).version).not.toBe(f.version);
    expect(form(GOOD.replace('source: website', 'version: 7\n    source: website')).version).toBe('7');
  });

  it('has no forms when the file does not exist', () => {
    const r = parseForms(undefined, 'forms.yaml');
    expect(r.ok && r.value.forms.size).toBe(0);
  });

  it('names file, line and field of every problem, with the closest field for a typo', () => {
    const r = parseForms(
      `forms:
  news:
    source: website
    consnt: hi
    fields:
      firstName: requird
    origins: [www.example.com]
    double_opt_in: { template: confirm, expires: 3 munths }
`,
      'forms.yaml',
    );
    expect(r.ok).toBe(false);
    const lines = r.ok ? [] : r.problems.map(formatProblem);
    expect(lines).toEqual([
      'forms.yaml:3: forms.news.consent: is required',
      'forms.yaml:4: forms.news.consnt: unknown field "consnt": did you mean "consent"?',
      'forms.yaml:6: forms.news.fields.firstName: "requird" is not "required", "optional" or { required, to, max }',
      'forms.yaml:7: forms.news.origins[0]: "www.example.com" is not an origin: scheme and host (and port) only, e.g. "https://www.example.com", or "*" for any',
      expect.stringMatching(/^forms\.yaml:8: forms\.news\.double_opt_in\.expires: "3 munths" /),
    ]);
  });

  it('refuses email as a field, a field on the honeypot, and two fields filling the same place', () => {
    const r = parseForms(
      `forms:
  news:
    source: website
    consent: ok
    honeypot: url
    fields: { email: required, url: optional, firstName: optional, first: { to: firstName } }
    origins: ["*"]
`,
      'forms.yaml',
    );
    expect(r.ok ? [] : r.problems.map((p) => p.message)).toEqual([
      'email is always taken and always required: leave it out of fields',
      '"url" is the form\'s honeypot field: it must stay empty, so it cannot be a field',
      'a second field fills firstName',
    ]);
  });
});

describe('a form post', () => {
  const f = form();

  it('gives the contact the fields map to, lower-cases the address and ignores undeclared fields', () => {
    expect(readSubmission(f, { email: ' Ann@Example.COM ', firstName: 'Ann', company: 'Acme', submit: 'Go', nurture_hp: '' })).toEqual({
      ok: true,
      honeypot: false,
      contact: { email: 'ann@example.com', firstName: 'Ann', attributes: { org: 'Acme' } },
    });
  });

  it('names the field that is wrong, as the form posts it', () => {
    expect(readSubmission(f, { firstName: 'Ann' })).toEqual({ ok: false, field: 'email', message: 'email is required' });
    expect(readSubmission(f, { email: 'a@example.com' })).toEqual({ ok: false, field: 'firstName', message: 'firstName is required' });
    expect(readSubmission(f, { email: 'a@example.com', firstName: 'A', company: 'Much too long' })).toEqual({ ok: false, field: 'company', message: 'company is longer than 10 characters' });
    expect(readSubmission(f, { email: ['a@example.com', 'b@example.com'], firstName: 'A' })).toEqual({ ok: false, field: 'email', message: 'email was given more than once' });
    expect(readSubmission(f, { email: 'nope', firstName: 'A' })).toEqual({ ok: false, field: 'email', message: 'email: "nope" is not an email address' });
  });

  it('is a bot whenever the honeypot holds anything but blanks', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
        (hp) => {
          const r = readSubmission(f, { email: 'a@example.com', firstName: 'A', nurture_hp: hp });
          return r.ok && r.honeypot;
        },
      ),
    );
    expect(readSubmission(f, { email: 'a@example.com', firstName: 'A', nurture_hp: '  ' })).toMatchObject({ ok: true, honeypot: false });
  });

  it('is taken only from the origins the form lists (Origin, else Referer)', () => {
    expect(checkOrigin(f, { origin: 'https://www.example.com' })).toEqual({ ok: true });
    expect(checkOrigin(f, { origin: 'HTTPS://WWW.EXAMPLE.COM' })).toEqual({ ok: true });
    expect(checkOrigin(f, { referer: 'https://www.example.com/signup?a=1' })).toEqual({ ok: true });
    expect(checkOrigin(f, {})).toMatchObject({ ok: false, reason: expect.stringContaining('names no origin') });
    expect(checkOrigin({ id: 'any', origins: ['*'] }, {})).toEqual({ ok: true });
    fc.assert(
      fc.property(fc.constantFrom('http', 'https'), fc.oneof(fc.domain(), fc.constant('www.example.com')), (scheme, host) => {
        const origin = `${scheme}://${host}`;
        return checkOrigin(f, { origin }).ok === (origin === 'https://www.example.com');
      }),
    );
  });

  it('becomes an opt_in event with the form, its version and whether the address was confirmed', () => {
    const e = formOptInEvent({ id: 'form-news-1', form: f, contact: { email: 'a@example.com' }, at: '2026-12-02T10:00:00.000Z', confirmed: true });
    expect(e).toEqual({
      id: 'form-news-1',
      type: 'opt_in',
      occurredAt: '2026-12-02T10:00:00.000Z',
      contact: { email: 'a@example.com' },
      data: { source: 'website', form: 'news', formVersion: f.version, confirmed: true },
    });
  });
});
