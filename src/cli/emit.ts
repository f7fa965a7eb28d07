import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { InputError } from '../errors.js';
import type { IncomingEvent } from '../sequences/event.js';
import { parseEvent } from '../sequences/event.js';
import { subjectText } from '../sequences/event-subject.js';
import type { DurationSpec } from '../sequences/time-types.js';
import { enqueueEvents } from '../app/enqueue-events.js';
import { EXIT_INVALID, action, config, stdout } from './shared.js';

interface EmitOptions {
  email?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  timezone?: string;
  data?: string;
  id?: string;
  occurredAt?: string;
  file?: string;
  json?: boolean;
}

function eventFromFlags(type: string, o: EmitOptions): unknown {
  let data: unknown = {};
  if (o.data !== undefined) {
    try {
      data = JSON.parse(o.data);
    } catch {
      throw new InputError(`--data: not valid JSON: ${o.data}`);
    }
  }
  const contact = Object.fromEntries(
    Object.entries({ email: o.email, firstName: o.firstName, lastName: o.lastName, phone: o.phone, timezone: o.timezone }).filter(([, v]) => v !== undefined),
  );
  return { id: o.id ?? `cli-${randomUUID()}`, type, occurredAt: o.occurredAt ?? new Date().toISOString(), contact, data };
}

async function readJsonLines(file: string, maxFutureSkew: DurationSpec): Promise<{ events: IncomingEvent[]; problems: string[] }> {
  const events: IncomingEvent[] = [];
  const problems: string[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      const parsed = parseEvent(line, { now: DateTime.utc(), maxFutureSkew });
      if (parsed.ok) events.push(parsed.event);
      else problems.push(`${file}:${n}: ${parsed.reason}`);
    }
  } catch (err) {
    throw new InputError(`${file}: ${(err as Error).message}`);
  }
  return { events, problems };
}

export function register(program: Command): void {
  program
    .command('emit')
    .description('put events on the events queue: one from flags, or many from a JSON-lines file')
    .argument('[type]', 'event type: opt_in, email_opened, email_clicked, replied, page_visited, appointment_requested, info_requested, unsubscribed, bounced, or your own')
    .option('--email <address>', "the contact's email (the contact key)")
    .option('--first-name <name>')
    .option('--last-name <name>')
    .option('--phone <number>')
    .option('--timezone <zone>', 'IANA zone, e.g. America/Chicago')
    .option('--data <json>', 'event data as a JSON object, e.g. \'{"source":"website"}\'')
    .option('--id <id>', 'event id (default: a new one); the same id is applied once')
    .option('--occurred-at <iso>', 'when it happened (default: now)')
    .option('--file <events.jsonl>', 'one event per line, in the event format')
    .option('--json', 'print what was emitted as JSON: the event ids and the rejected lines')
    .action(
      action(async (type: string | undefined, o: EmitOptions) => {
        const cfg = config();
        let events: IncomingEvent[];
        let problems: string[] = [];
        if (o.file) {
          if (type) throw new InputError('give either an event TYPE with flags, or --file, not both');
          ({ events, problems } = await readJsonLines(o.file, cfg.maxFutureSkew));
        } else {
          if (!type) throw new InputError('missing event TYPE (e.g. `nurture emit opt_in --email ann@example.com`) or --file');
          if (!o.email) throw new InputError('--email is required: it identifies the contact');
          const parsed = parseEvent(eventFromFlags(type, o), { now: DateTime.utc(), maxFutureSkew: cfg.maxFutureSkew });
          if (!parsed.ok) throw new InputError(`not emitted: ${parsed.reason}`);
          events = [parsed.event];
        }
        if (!o.json) for (const p of problems) stdout.error(p);
        await enqueueEvents(cfg, events);
        if (o.json) {
          stdout.json({ emitted: events.map((e) => ({ id: e.id, type: e.type, email: subjectText(e) })), rejected: problems });
        } else if (events.length === 1 && !o.file) {
          stdout.line(`emitted ${events[0]!.type} ${events[0]!.id} for ${subjectText(events[0]!)}`);
        } else {
          stdout.line(`emitted ${events.length} event(s)${problems.length ? `; ${problems.length} line(s) rejected` : ''}`);
        }
        return problems.length > 0 ? EXIT_INVALID : 0;
      }),
    );
}
