import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewInput } from '../../src/queries/sequence-preview.js';
import { previewSequence } from '../../src/cli/preview.js';
import { ConfigError, SequenceError } from '../../src/errors.js';
import { DEFAULT_PROMOTION_RULES } from '../../src/sequences/lifecycle.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const base: PreviewInput = {
  file: path.join(ROOT, 'examples/sequences/new-opt-in.yaml'),
  templatesDir: path.join(ROOT, 'examples/templates'),
  from: '2026-11-22T10:00',
  config: { defaultZone: 'America/Chicago', caps: undefined, promotion: DEFAULT_PROMOTION_RULES },
};

describe('nurture preview: the example sequence', () => {
  it('prints every touch and task of 18 months in the contact zone, with rendered subjects', async () => {
    const { text, problems } = await previewSequence(base);
    expect(problems).toEqual([]);
    expect(text).toMatchInlineSnapshot(`
      "new-opt-in (version 4ce2ad392153) for Ann Example <ann@example.com>, in America/Chicago, from Sun 22 Nov 2026 10:00

      Sun 22 Nov 2026 10:00  day 0    email     welcome         "Welcome, Ann: your guide is on its way"
      Tue 24 Nov 2026 10:00  day 2    email     buyers-guide    "The buyer's guide: 5 questions to ask before you sign anything"
      Fri 27 Nov 2026 10:00  day 5    postcard  hello-postcard  "Hello postcard (front: photo of the team)", task for staff due Tue 1 Dec 2026 10:00
      Sun 29 Nov 2026 10:00  day 7    call      call            "Intro call: ask what prompted the download", due Mon 30 Nov 2026 10:00
      Tue 29 Dec 2026 10:00  day 37   email     monthly-value   "This month: one idea worth your time"
      Fri 29 Jan 2027 10:00  day 68   email     monthly-value   "This month: one idea worth your time"
      Sun 28 Feb 2027 10:00  day 98   delay     monthly-value   delayed to Mon 1 Mar 2027 09:00 (send window)
      Mon 1 Mar 2027 09:00   day 99   email     monthly-value   "This month: one idea worth your time"
      Mon 29 Mar 2027 10:00  day 127  email     monthly-value   "This month: one idea worth your time"
      Thu 29 Apr 2027 10:00  day 158  email     monthly-value   "This month: one idea worth your time"
      Sat 29 May 2027 10:00  day 188  delay     monthly-value   delayed to Mon 31 May 2027 09:00 (send window)
      Mon 31 May 2027 09:00  day 190  email     monthly-value   "This month: one idea worth your time"
      Tue 29 Jun 2027 10:00  day 219  email     monthly-value   "This month: one idea worth your time"
      Thu 29 Jul 2027 10:00  day 249  email     monthly-value   "This month: one idea worth your time"
      Sun 29 Aug 2027 10:00  day 280  delay     monthly-value   delayed to Mon 30 Aug 2027 09:00 (send window)
      Mon 30 Aug 2027 09:00  day 281  email     monthly-value   "This month: one idea worth your time"
      Wed 29 Sep 2027 10:00  day 311  email     monthly-value   "This month: one idea worth your time"
      Fri 29 Oct 2027 10:00  day 341  email     monthly-value   "This month: one idea worth your time"
      Mon 29 Nov 2027 10:00  day 372  email     monthly-value   "This month: one idea worth your time"
      Wed 29 Dec 2027 10:00  day 402  email     monthly-value   "This month: one idea worth your time"
      Sat 29 Jan 2028 10:00  day 433  delay     monthly-value   delayed to Mon 31 Jan 2028 09:00 (send window)
      Mon 31 Jan 2028 09:00  day 435  email     monthly-value   "This month: one idea worth your time"
      Tue 29 Feb 2028 10:00  day 464  email     monthly-value   "This month: one idea worth your time"
      Wed 29 Mar 2028 10:00  day 493  email     monthly-value   "This month: one idea worth your time"
      Sat 29 Apr 2028 10:00  day 524  delay     monthly-value   delayed to Mon 1 May 2028 09:00 (send window)
      Mon 1 May 2028 09:00   day 526  email     monthly-value   "This month: one idea worth your time"
      Mon 29 May 2028 10:00  day 554  email     monthly-value   "This month: one idea worth your time"
      Mon 29 May 2028 10:00  day 554  end                       enrollment completed

      Summary: 20 emails, 1 postcard, 0 letters, 1 call over 18 months 7 days
      Outcome: completed"
    `);
  });

  it('stops at promotion when the script asks for an appointment', async () => {
    const { data, text } = await previewSequence({ ...base, script: ['day 3: email_clicked on buyers-guide', 'day 20: appointment_requested'] });
    expect(text).toMatchInlineSnapshot(`
      "new-opt-in (version 4ce2ad392153) for Ann Example <ann@example.com>, in America/Chicago, from Sun 22 Nov 2026 10:00

      Sun 22 Nov 2026 10:00  day 0   email     welcome         "Welcome, Ann: your guide is on its way"
      Tue 24 Nov 2026 10:00  day 2   email     buyers-guide    "The buyer's guide: 5 questions to ask before you sign anything"
      Wed 25 Nov 2026 10:00  day 3   event     buyers-guide    email_clicked
      Fri 27 Nov 2026 10:00  day 5   postcard  hello-postcard  "Hello postcard (front: photo of the team)", task for staff due Tue 1 Dec 2026 10:00
      Sun 29 Nov 2026 10:00  day 7   call      call            "Intro call: ask what prompted the download", due Mon 30 Nov 2026 10:00
      Sat 12 Dec 2026 10:00  day 20  event                     appointment_requested
      Sat 12 Dec 2026 10:00  day 20  end                       promoted to lead (appointment_requested): nurture ends, sales gets a call task

      Summary: 2 emails, 1 postcard, 0 letters, 1 call over 20 days
      Outcome: exited (promoted)"
    `);
    expect(data.outcome).toBe('exited');
    expect(data.reason).toBe('promoted');
    expect(data.entries.at(-1)).toMatchObject({ kind: 'end', day: 20 });
    expect(data.entries.filter((e) => e.kind === 'email').map((e) => e.step)).toEqual(['welcome', 'buyers-guide']);
  });

  it('gives tools a JSON document', async () => {
    const { data } = await previewSequence({ ...base, script: [{ at: 'day 3', event: 'email_clicked', on: 'buyers-guide' }] });
    expect(Object.keys(data)).toEqual(['sequence', 'version', 'zone', 'from', 'contact', 'entries', 'outcome', 'reason', 'summary', 'problems']);
    expect(data).toMatchObject({
      sequence: 'new-opt-in',
      version: expect.stringMatching(/^[0-9a-f]{12}$/),
      zone: 'America/Chicago',
      from: '2026-11-22T10:00:00-06:00',
      contact: { email: 'ann@example.com', firstName: 'Ann', lastName: 'Example', timezone: 'America/Chicago' },
      outcome: 'completed',
      summary: { emails: 20, postcards: 1, letters: 0, calls: 1, events: 1, span: { days: 554, text: '18 months 7 days' } },
      problems: [],
    });
    expect(data.entries.slice(0, 5)).toEqual([
      { at: '2026-11-22T10:00:00-06:00', day: 0, kind: 'email', step: 'welcome', template: 'welcome', subject: 'Welcome, Ann: your guide is on its way', text: '"Welcome, Ann: your guide is on its way"' },
      {
        at: '2026-11-24T10:00:00-06:00',
        day: 2,
        kind: 'email',
        step: 'buyers-guide',
        template: 'buyers-guide',
        subject: "The buyer's guide: 5 questions to ask before you sign anything",
        text: `"The buyer's guide: 5 questions to ask before you sign anything"`,
      },
      { at: '2026-11-25T10:00:00-06:00', day: 3, kind: 'event', step: 'buyers-guide', text: 'email_clicked' },
      {
        at: '2026-11-27T10:00:00-06:00',
        day: 5,
        kind: 'postcard',
        step: 'hello-postcard',
        template: 'hello-postcard',
        subject: 'Hello postcard (front: photo of the team)',
        due: '2026-12-01T10:00:00-06:00',
        text: '"Hello postcard (front: photo of the team)", task for staff due Tue 1 Dec 2026 10:00',
      },
      {
        at: '2026-11-29T10:00:00-06:00',
        day: 7,
        kind: 'call',
        step: 'call',
        due: '2026-11-30T10:00:00-06:00',
        text: '"Intro call: ask what prompted the download", due Mon 30 Nov 2026 10:00',
      },
    ]);
    expect(data.entries.find((e) => e.kind === 'delay')).toEqual({
      at: '2027-02-28T10:00:00-06:00',
      day: 98,
      kind: 'delay',
      step: 'monthly-value',
      text: 'delayed to Mon 1 Mar 2027 09:00 (send window)',
    });
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
  });
});

describe('nurture preview: contacts, zones and start times', () => {
  it('renders with the contact it is given, in that contact zone', async () => {
    const { data, text } = await previewSequence({ ...base, contact: { email: 'Bo@Example.com', timezone: 'Europe/Berlin' }, from: '2026-11-22T10:00' });
    expect(data.zone).toBe('Europe/Berlin');
    expect(data.entries[0]).toMatchObject({ at: '2026-11-22T10:00:00+01:00', subject: 'Welcome, friend: your guide is on its way' });
    expect(text.split('\n')[0]).toBe(`new-opt-in (version ${data.version}) for bo@example.com, in Europe/Berlin, from Sun 22 Nov 2026 10:00`);
  });

  it('lets --zone override the contact zone', async () => {
    const { data } = await previewSequence({ ...base, zone: 'Asia/Kolkata' });
    expect(data.from).toBe('2026-11-22T10:00:00+05:30');
  });

  it('names the contact field that is wrong', async () => {
    const bad = previewSequence({ ...base, contact: { email: 'not-an-email', first_name: 'Ann' }, contactName: 'ann.json' });
    await expect(bad).rejects.toBeInstanceOf(ConfigError);
    await expect(bad).rejects.toThrow('ann.json: email: is not an email address\nann.json: first_name: unknown field "first_name"');
    await expect(previewSequence({ ...base, contact: { firstName: 'Ann' } })).rejects.toThrow('contact: email: is required');
  });

  it('rejects a --from it cannot read, and a zone that does not exist', async () => {
    await expect(previewSequence({ ...base, from: 'next tuesday' })).rejects.toThrow(
      '--from: "next tuesday" is not an ISO date and time (e.g. 2026-11-22T10:00, read in America/Chicago)',
    );
    await expect(previewSequence({ ...base, zone: 'Mars/Olympus' })).rejects.toThrow('--zone: "Mars/Olympus" is not an IANA time zone');
  });

  it('reports events script errors with the file and line', async () => {
    const r = previewSequence({ ...base, script: { text: '- day 3: email_clicked on buyers-guid\n', file: 'ann.yaml' } });
    await expect(r).rejects.toThrow('ann.yaml:1: [0].on: "buyers-guid" is not an email step of new-opt-in');
  });
});

describe('nurture preview: broken inputs are reported, not crashes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'nurture-preview-'));
    await cp(path.join(ROOT, 'examples/templates/welcome.hbs'), path.join(dir, 'welcome.hbs'));
    // Its layout and the partial the layout includes.
    await cp(path.join(ROOT, 'examples/templates/layouts'), path.join(dir, 'layouts'), { recursive: true });
    await cp(path.join(ROOT, 'examples/templates/partials'), path.join(dir, 'partials'), { recursive: true });
    await writeFile(path.join(dir, 'bad.yaml'), 'id: bad\ntrigger: { event: opt_in }\nsteps:\n  - wait: 3 munths\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the timeline and lists a missing template as a problem', async () => {
    const { data, text, problems } = await previewSequence({ ...base, templatesDir: dir, script: ['day 6: appointment_requested'] });
    expect(problems.map((p) => [path.basename(p.file), p.severity])).toEqual([
      ['buyers-guide.hbs', 'error'],
      ['hello-postcard.hbs', 'error'],
    ]);
    expect(data.entries[1]).toMatchObject({ kind: 'email', step: 'buyers-guide', text: '(template buyers-guide could not be rendered)' });
    expect(data.entries[1]).not.toHaveProperty('subject');
    expect(text).toContain('"Welcome, Ann: your guide is on its way"');
    expect(text).toContain('2 problems:');
  });

  it('throws the sequence problems with file and line', async () => {
    const file = path.join(dir, 'bad.yaml');
    const r = previewSequence({ ...base, file });
    await expect(r).rejects.toBeInstanceOf(SequenceError);
    await expect(r).rejects.toThrow(`${file}:4: steps[0].wait:`);
    await expect(previewSequence({ ...base, file: path.join(dir, 'none.yaml') })).rejects.toThrow('none.yaml: no such sequence file');
  });
});
