import { parse } from 'yaml';
import type { Contact } from '../../src/sequences/contact.js';
import { validateSequence } from '../../src/sequences/load.js';
import type { Program } from '../../src/sequences/program.js';

/** Compiles a sequence written as YAML text, failing loudly with the loader's own messages. */
export function programFromYaml(yaml: string, file = 'test.yaml'): Program {
  const r = validateSequence(parse(yaml), file);
  if (!r.program) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.program;
}

export function contact(overrides: Partial<Contact> = {}): Contact {
  return {
    id: 'c-1',
    email: 'ann@example.com',
    firstName: 'Ann',
    lastName: 'Lee',
    phone: '+15555550100',
    timezone: 'America/Chicago',
    address: { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
    attributes: {},
    tags: [],
    score: 0,
    status: 'subscriber',
    unsubscribedAt: null,
    bouncedAt: null,
    ...overrides,
  };
}

export const EXAMPLE_SEQUENCE = `
id: new-opt-in
trigger: { event: opt_in, where: { source: website } }
exit: [ { event: unsubscribed }, { promoted: lead } ]
steps:
  - email: welcome
  - wait: 2 days
  - email: buyers-guide
  - wait: 3 days
  - postcard: hello-postcard
  - wait: 2 days
  - call: { note: "Intro call: ask what prompted the download", due: 1 day }
  - repeat:
      every: 1 month
      times: 18
      steps:
        - email: monthly-value
          send_window: { days: weekdays, from: "09:00", to: "17:00" }
`;
