import { z } from 'zod';
import { BUILT_IN_EVENTS, STEP_KINDS } from './schema.js';
import { LOCAL_DATE_PATTERN } from './local-date.js';
import { EVENT_TYPE, SLUG, TEMPLATE_NAME } from './names.js';

/**
 * The sequence file as a marketer writes it, short forms and all, for editors: exported as JSON
 * Schema (schema/sequence.schema.json, `npm run schema`) it gives completion, hover help and
 * inline errors in any editor with the YAML language server, enabled by one line at the top of
 * the file:
 *
 *     # yaml-language-server: $schema=../schema/sequence.schema.json
 *
 * `sequenceSchema` (schema.ts) stays the authority: it normalises steps with a preprocess and
 * checks what JSON Schema cannot (real time zones, zero durations, `from` ≠ `to`). This schema
 * only uses what JSON Schema can say, so `fileSchema.safeParse` behaves like an editor would;
 * test/unit/file-schema.test.ts checks that the two agree.
 */

// ---- leaves -------------------------------------------------------------------------------


/** A case-insensitive regex source for lower-case text (JSON Schema patterns take no flags). */
function anyCase(source: string): string {
  return source.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
}

const UNIT = anyCase('(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|mo|mos|mths?|months?|y|yrs?|years?)');
const HUMAN = `(?:\\d+\\s*${UNIT}\\s*(?:(?:,|\\b${anyCase('and')}\\b)\\s*)*)+`;
const BUSINESS = `\\d+\\s*${anyCase('(?:business|working)')}\\s+${anyCase('days?')}`;
const ISO = `${anyCase('p')}(?=.*\\d)(?:\\d+[yY])?(?:\\d+[mM])?(?:\\d+[wW])?(?:\\d+[dD])?(?:[tT](?:\\d+[hH])?(?:\\d+[mM])?(?:\\d+[sS])?)?`;
/**
 * Every duration parseDuration accepts matches (it is looser: "0 days" and "P1DT" pass here and
 * fail in `nurture validate`). "m" is minutes, "mo" months.
 */
export const DURATION_PATTERN = new RegExp(`^\\s*(?:${ISO}|${BUSINESS}|${HUMAN})\\s*$`);

const duration = z
  .string()
  .regex(DURATION_PATTERN)
  .meta({
    id: 'duration',
    title: 'Duration',
    description:
      'How long: a number and a unit ("3 days", "1 day 2 hours", "2 weeks", "1 month", "90 minutes"), ' +
      '"N business days" (Monday to Friday, skipping holidays) or ISO 8601 ("P3D", "PT2H"). "m" is minutes, "mo" months.',
    examples: ['2 days', '3 days', '1 week', '1 month', '2 business days', '1 day 2 hours', 'P3D'],
    patternErrorMessage: 'Not a duration: try "3 days", "2 business days", "1 month" or ISO 8601 like "P3D".',
  });

const timeOfDay = z
  .string()
  .regex(/^\s*(?:[01]?\d|2[0-3]):[0-5]\d\s*$/)
  .meta({
    id: 'timeOfDay',
    title: 'Time of day',
    description: 'A local time, 24-hour "HH:MM", in the contact\'s time zone (else the sequence\'s).',
    examples: ['09:00', '17:30'],
    patternErrorMessage: 'Not a time of day: write "HH:MM", 24-hour, e.g. "09:30".',
  });

const days = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .meta({
    id: 'days',
    title: 'Days of the week',
    description:
      'Which days: "weekdays", "weekends", "every day", a list ("mon, wed, fri" or a YAML list), a range ("mon-fri", ' +
      '"fri-mon" wraps the week) or day names ("Monday", "tue").',
    examples: ['weekdays', 'mon-fri', 'mon, wed, fri', 'every day', 'weekends'],
  });

const stepId = z
  .string()
  .regex(SLUG)
  .meta({
    id: 'stepId',
    description: 'Lower-case letters, digits, "-" and "_", starting with a letter or digit.',
    patternErrorMessage: 'Use lower-case letters, digits, "-" or "_" (e.g. "buyers-guide").',
  });

const templateName = z
  .string()
  .regex(TEMPLATE_NAME)
  .meta({
    id: 'templateName',
    title: 'Template',
    description: 'A template in the templates directory, without ".hbs": "welcome" is templates/welcome.hbs, "mail/guide" templates/mail/guide.hbs.',
    examples: ['welcome', 'buyers-guide'],
    patternErrorMessage: 'Not a template name: lower-case letters, digits, "-", "_" and "/" (e.g. "welcome").',
  });

const eventType = z
  .union([
    z.enum(BUILT_IN_EVENTS),
    z.string().regex(EVENT_TYPE).meta({ patternErrorMessage: 'Not an event type: lower-case letters, digits, "_", ".", ":", "-" (e.g. "webinar_attended").' }),
  ])
  .meta({
    id: 'eventType',
    title: 'Event type',
    description:
      'The type of an event sent to Nurture: a built-in one (opt_in, email_opened, email_clicked, replied, page_visited, ' +
      'appointment_requested, info_requested, unsubscribed, bounced; made by Nurture: stage_changed, task_completed) or your own (lower-case, e.g. "webinar_attended").',
  });

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const where = z
  .record(z.string(), z.union([scalar, z.array(scalar)]))
  .meta({
    id: 'where',
    title: 'Where',
    description: 'Only events whose data has these values: each key must equal the value, or be one of the listed values.',
    examples: [{ source: 'website' }, { source: ['website', 'webinar'] }],
  });

const eventMatcher = z
  .strictObject({
    event: eventType,
    where: where.optional(),
  })
  .meta({
    id: 'eventMatcher',
    title: 'Event',
    description: 'An event, optionally narrowed by its data: { event: opt_in, where: { source: website } }.',
    defaultSnippets: [{ label: 'event', body: { event: '${1:opt_in}' } }],
  });

const sendWindow = z
  .strictObject({
    days: days.optional().describe('Days the window is open (default: weekdays).'),
    from: timeOfDay.describe('Opens at this local time.'),
    to: timeOfDay.describe('Closes at this local time (before "from" means the window runs past midnight).'),
  })
  .meta({
    id: 'sendWindow',
    title: 'Send window',
    description: 'Opening hours for emails: an email due outside them waits for the next opening, in the contact\'s time zone.',
    defaultSnippets: [{ label: 'weekdays 9 to 5', body: { days: 'weekdays', from: '09:00', to: '17:00' } }],
  });

// ---- conditions ---------------------------------------------------------------------------

const condition: z.ZodType<unknown> = z
  .lazy(() =>
    z.xor([
      z.strictObject({ all: z.array(condition).min(1).describe('True when every condition in the list is true.') }),
      z.strictObject({ any: z.array(condition).min(1).describe('True when at least one condition in the list is true.') }),
      z.strictObject({ not: condition }),
      z.strictObject({ tag: z.string().min(1).describe('True when the contact has this tag.') }),
      ...(['equals', 'in', 'exists'] as const).map((test) =>
        z.strictObject({
          attribute: z.string().min(1).describe('A contact attribute (set by events or `set` steps).'),
          [test]:
            test === 'equals'
              ? scalar.describe('True when the attribute equals this value.')
              : test === 'in'
                ? z.array(scalar).describe('True when the attribute is one of these values.')
                : z.boolean().describe('true: the attribute is set; false: it is not.'),
        }),
      ),
      z.strictObject({ has: z.enum(['firstName', 'lastName', 'phone', 'address']).describe('True when the contact has this field filled in.') }),
      z.strictObject({ opened: stepId.describe('True when the contact opened the email sent by this step (its id).') }),
      z.strictObject({ clicked: stepId.describe('True when the contact clicked a link in the email sent by this step (its id).') }),
      z.strictObject({
        score: z
          .strictObject({
            gte: z.number().optional().describe('At least'),
            gt: z.number().optional().describe('More than'),
            lte: z.number().optional().describe('At most'),
            lt: z.number().optional().describe('Less than'),
          })
          .refine((s) => Object.keys(s).length > 0)
          .meta({ minProperties: 1 })
          .describe('True when the contact\'s engagement score is in this range.'),
      }),
      z.strictObject({
        event: eventType.describe('True when the contact has had this event.'),
        where: where.optional(),
        within: duration.optional().describe('Only count events this recent.'),
      }),
    ]),
  )
  .meta({
    id: 'condition',
    title: 'Condition',
    description:
      'A test on the contact: { tag }, { attribute, equals | in | exists }, { has }, { opened }, { clicked }, { score }, ' +
      '{ event, where, within }, combined with { all: [...] }, { any: [...] } and { not }.',
    examples: [{ tag: 'customer' }, { opened: 'welcome' }, { attribute: 'plan', equals: 'pro' }, { event: 'page_visited', within: '7 days' }],
  });

// ---- steps --------------------------------------------------------------------------------

const steps: z.ZodType<unknown[]> = z.lazy(() =>
  z.array(step).meta({ id: 'steps', title: 'Steps', description: 'Steps, run in order. Each is a map with exactly one kind key.' }),
);

const id = stepId
  .meta({
    id: 'ownStepId',
    description:
      'The step\'s name in reports, touches and `opened`/`clicked` conditions. Without one, a touch is named after its template, ' +
      'a wait after the step before it ("welcome-wait"), any other step after its kind. Keep ids stable: when the file is edited, ' +
      'contacts in flight are moved by step id.',
  })
  .optional();

type Variant = { kind: (typeof STEP_KINDS)[number]; title: string; description: string; snippet: Record<string, unknown>; shape: z.ZodRawShape };

const variants: Variant[] = [
  {
    kind: 'email',
    title: 'Email',
    description: 'Sends an email: `email: welcome` renders templates/welcome.hbs for the contact.',
    snippet: { email: '${1:template}' },
    shape: {
      email: z.union([templateName, z.strictObject({ template: templateName })]),
      send_window: sendWindow.optional().describe('Opening hours for this email (overrides the sequence\'s send_window).'),
    },
  },
  ...(['postcard', 'letter'] as const).map(
    (kind): Variant => ({
      kind,
      title: kind === 'postcard' ? 'Postcard' : 'Letter',
      description: `Creates a task for staff to send a ${kind}, rendered from the template with the contact's address.`,
      snippet: { [kind]: '${1:template}' },
      shape: {
        [kind]: z.union([templateName, z.strictObject({ template: templateName, due: duration.optional().describe('When the task is due (default: 2 business days).') })]),
        due: duration.optional().describe('When the task is due (default: 2 business days).'),
      },
    }),
  ),
  {
    kind: 'call',
    title: 'Call task',
    description: 'Creates a call task for staff: `call: "Ask about the guide"` or { note, due, priority }.',
    snippet: { call: { note: '${1:what to talk about}', due: '${2:1 day}' } },
    shape: {
      call: z.union([
        z.string().min(1).describe('What the call is about.'),
        z.strictObject({
          note: z.string().min(1).describe('What the call is about.'),
          due: duration.optional().describe('When the call is due (default: 1 day).'),
          priority: z.enum(['normal', 'high']).optional().describe('Default: normal.'),
        }),
      ]),
    },
  },
  {
    kind: 'wait',
    title: 'Wait',
    description: 'Waits before the next step: `wait: 2 days`, { for: 2 days }, or until a time of day: { until: "09:00", on: weekdays }.',
    snippet: { wait: '${1:2 days}' },
    shape: {
      wait: z.union([
        duration,
        z.strictObject({ for: duration }),
        z.strictObject({
          until: timeOfDay.describe('Waits until this local time (today if still ahead, else the next day that matches).'),
          on: days.optional().describe('Only on these days (default: any day).'),
        }),
      ]),
    },
  },
  {
    kind: 'repeat',
    title: 'Repeat',
    description: 'Runs its steps `times` times, waiting `every` before each round: 18 monthly emails span 18 months.',
    snippet: { repeat: { every: '${1:1 month}', times: '^${2:12}', steps: [{ email: '${3:template}' }] } },
    shape: {
      repeat: z.strictObject({
        every: duration.describe('Wait before each round.'),
        times: z.number().int().min(1).max(1000).describe('How many rounds (1 to 1000).'),
        steps: steps.describe('The steps of one round.'),
      }),
    },
  },
  {
    kind: 'wait_for',
    title: 'Wait for an event',
    description: 'Waits until the contact has an event (then runs on_event) or the timeout passes (then runs on_timeout), then goes on.',
    snippet: { wait_for: { event: '${1:email_clicked}', timeout: '${2:3 days}' }, on_event: [], on_timeout: [] },
    shape: {
      wait_for: z.strictObject({
        event: eventType,
        where: where.optional(),
        step: stepId.optional().describe('Only events about the email sent by this step (e.g. a click on that email), or about the task this call, postcard, letter or notify step made (its task_completed).'),
        timeout: duration.describe('Give up waiting after this long.'),
      }),
      on_event: steps.optional().describe('Steps to run when the event comes.'),
      on_timeout: steps.optional().describe('Steps to run when the timeout passes first.'),
    },
  },
  {
    kind: 'if',
    title: 'If',
    description: 'Runs `then` when the condition holds for the contact, else `else`, then goes on.',
    snippet: { if: { tag: '${1:customer}' }, then: [], else: [] },
    shape: {
      if: condition,
      then: steps.describe('Steps to run when the condition is true.'),
      else: steps.optional().describe('Steps to run when it is false.'),
    },
  },
  ...(['tag', 'untag'] as const).map(
    (kind): Variant => ({
      kind,
      title: kind === 'tag' ? 'Tag' : 'Untag',
      description: kind === 'tag' ? 'Adds tags to the contact.' : 'Removes tags from the contact.',
      snippet: { [kind]: '${1:tag}' },
      shape: { [kind]: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('One tag, or a list.') },
    }),
  ),
  {
    kind: 'set',
    title: 'Set attributes',
    description: 'Sets contact attributes: `set: { stage: warm }`; null clears one.',
    snippet: { set: { '${1:attribute}': '${2:value}' } },
    shape: {
      set: z
        .record(z.string().min(1), z.union([scalar, z.null()]))
        .refine((r) => Object.keys(r).length > 0)
        .meta({ minProperties: 1 }),
    },
  },
  {
    kind: 'start',
    title: 'Start a sequence',
    description: 'Enrolls the contact in another sequence (by its id), if its re-entry rule allows.',
    snippet: { start: '${1:sequence-id}' },
    shape: { start: stepId.describe('The id of the sequence to start.') },
  },
  {
    kind: 'notify',
    title: 'Notify staff',
    description: 'Creates a notice for staff: `notify: "Hot lead"` or { note, to }.',
    snippet: { notify: '${1:note}' },
    shape: {
      notify: z.union([
        z.string().min(1),
        z.strictObject({ note: z.string().min(1), to: z.string().optional().describe('Who should see it (free text).') }),
      ]),
    },
  },
];

const step: z.ZodType<unknown> = z
  .xor(
    variants.map((v) =>
      z
        .strictObject({ id, ...v.shape })
        .meta({ title: v.title, description: v.description, defaultSnippets: [{ label: v.kind, body: v.snippet }] }),
    ),
  )
  .meta({
    id: 'step',
    title: 'Step',
    description: `One step: a map with exactly one of ${STEP_KINDS.join(', ')}, and optionally an id.`,
  });

// ---- the file -----------------------------------------------------------------------------

export const fileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('The JSON Schema editors check this file against (optional; the yaml-language-server comment does the same).'),
    id: z
      .string()
      .regex(SLUG)
      .meta({
        description: 'The sequence\'s id: names it everywhere (reports, `start` steps, the database). Lower-case letters, digits, "-" and "_".',
        examples: ['new-opt-in'],
        patternErrorMessage: 'Use lower-case letters, digits, "-" or "_" (e.g. "new-opt-in").',
      }),
    name: z.string().optional().describe('A name for people.'),
    description: z.string().optional().describe('What the sequence is for.'),
    timezone: z
      .string()
      .optional()
      .meta({
        description: 'IANA time zone for contacts without one (default: NURTURE_DEFAULT_TIMEZONE). Waits, send windows and holidays use the contact\'s zone.',
        examples: ['America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Europe/London', 'UTC'],
      }),
    trigger: z.union([eventMatcher, z.array(eventMatcher).min(1)]).describe('The event (or any of the events) that enrolls a contact.'),
    reentry: z
      .union([
        z.enum(['once', 'always']),
        z.strictObject({ after: duration.describe('Minimum time since the last enrollment started.') }),
      ])
      .default('once')
      .describe('Whether a contact can go through the sequence again: once (default), always, or { after: 90 days }.'),
    exit: z
      .array(z.union([eventMatcher, z.strictObject({ promoted: z.literal('lead').describe('Leave when the contact becomes a lead.') })]))
      .optional()
      .describe('Events that end the sequence for a contact (default: becoming a lead, [{ promoted: lead }]).'),
    goals: z.array(eventMatcher).optional().describe('Events that count as converting: the contact leaves the sequence as converted.'),
    send_window: sendWindow.optional().describe('Opening hours for every email of the sequence (a step may set its own).'),
    holidays: z
      .array(z.string().regex(LOCAL_DATE_PATTERN).meta({ patternErrorMessage: 'Not a date: write "yyyy-mm-dd", a day that exists (e.g. "2026-12-25").' }))
      .optional()
      .describe('Local dates ("yyyy-mm-dd") on which nothing goes out and which are not business days.'),
    on_edit: z
      .enum(['migrate', 'stay'])
      .default('migrate')
      .describe(
        'When this file changes while contacts are in it: migrate (default) moves them to the new version by step id ' +
          '(a removed step: the next one that survives); stay keeps them on the version they started until they finish.',
      ),
    tracking: z
      .strictObject({
        clicks: z.boolean().optional().describe('Rewrite links to signed redirects that record email_clicked (default true).'),
        opens: z.boolean().optional().describe('Add a 1x1 pixel that records email_opened (default true).'),
      })
      .optional()
      .describe('Click and open tracking of this sequence\'s emails; NURTURE_TRACK_CLICKS / NURTURE_TRACK_OPENS turn them off everywhere.'),
    topic: z
      .string()
      .regex(SLUG)
      .optional()
      .meta({
        description:
          'A topic declared in topics.yaml (e.g. "newsletter"): a contact who left that topic on the preference page gets none of this sequence\'s emails.',
        examples: ['newsletter', 'nurture'],
        patternErrorMessage: 'Not a topic id: lower-case letters, digits, "-" or "_" (e.g. "newsletter").',
      }),
    steps: z.array(step).min(1).describe('The steps, run in order (at least one).'),
  });

export type SequenceFile = z.input<typeof fileSchema>;

// ---- JSON Schema --------------------------------------------------------------------------

/** A name, not an address: editors find the schema through the file's yaml-language-server comment. */
export const SEQUENCE_SCHEMA_ID = 'urn:nurture:schema:sequence';

/** The JSON Schema of a sequence file, as written to schema/sequence.schema.json. */
export function sequenceJsonSchema(): Record<string, unknown> {
  // Draft-07: the YAML language server (most editors' YAML support) fully supports it, not 2020-12.
  const { $schema, ...body } = z.toJSONSchema(fileSchema, { io: 'input', target: 'draft-07' });
  return {
    $schema,
    $id: SEQUENCE_SCHEMA_ID,
    title: 'Nurture sequence',
    description:
      'A Nurture sequence file: who enters (trigger), what they get (steps), and when they leave (exit, goals). ' +
      'Enable it in an editor with the YAML language server by starting the file with ' +
      '"# yaml-language-server: $schema=<path to>/sequence.schema.json". `nurture validate` checks the rest.',
    ...body,
  };
}

/** The file's exact text (pretty JSON, final newline): the generator writes it, a test compares it. */
export function renderSequenceJsonSchema(): string {
  return `${JSON.stringify(sequenceJsonSchema(), null, 2)}\n`;
}
