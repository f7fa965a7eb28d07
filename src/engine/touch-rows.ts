import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { recentHistory } from '../db/event-repository.js';
import type { Database } from '../db/schema.js';
import type { NewTask } from '../db/task-repository.js';
import type { NewTouch } from '../db/touch-repository.js';
import { InternalError } from '../errors.js';
import type { Action } from '../sequences/advance.js';
import type { Contact } from '../sequences/contact.js';
import { renderContext } from '../templates/render-context.js';
import type { Program } from '../sequences/program.js';
import type { ContactScope, EngineDeps } from './engine-deps.js';
import { templateOfVersion } from './published-templates.js';
import { touchSubject } from '../security/message-links.js';

/** The rows an action becomes: its touch (the step ran), and for staff work its task. */

const HISTORY_FOR_CALLS = 10;

export function touchOf(a: Action & { key: string }, base: Omit<NewTouch, 'id' | 'key' | 'step_id' | 'kind' | 'template' | 'status' | 'subject' | 'due_at'>): NewTouch {
  const common = { ...base, id: randomUUID(), key: `${base.enrollment_id}/${a.key}`, step_id: a.stepId, subject: null };
  switch (a.kind) {
    case 'email':
      return { ...common, kind: 'email', template: a.template, status: 'pending', due_at: new Date(a.dueAt) };
    case 'mail_task':
      return { ...common, kind: a.medium, template: a.template, status: 'done', due_at: new Date(a.dueAt) };
    case 'call_task':
      return { ...common, kind: 'call', template: null, status: 'done', due_at: new Date(a.dueAt) };
    case 'notify':
      return { ...common, kind: 'notify', template: null, status: 'done', due_at: new Date(a.dueAt) };
    case 'skipped':
      if (a.medium) return { ...common, kind: a.medium, template: a.template ?? null, status: 'cancelled', due_at: new Date(a.dueAt), error: `skipped: ${a.reason.replace('_', ' ')}` };
      return { ...common, kind: 'email', template: null, status: 'cancelled', due_at: new Date(a.dueAt), error: `skipped: ${a.reason}` };
    default:
      throw new InternalError(`action ${a.kind} makes no touch`);
  }
}

export async function taskFor(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  a: Extract<Action, { kind: 'mail_task' | 'call_task' | 'notify' }>,
  touch: NewTouch,
  program: Program,
): Promise<NewTask> {
  const c = scope.contact;
  const common = {
    touch_id: touch.id,
    contact_id: c.id,
    enrollment_id: touch.enrollment_id,
    priority: 'normal' as const,
    address: (c.address as Record<string, unknown> | null) ?? null,
    phone: c.phone,
    due_at: touch.due_at,
  };
  if (a.kind === 'mail_task') {
    // The piece is rendered now, so staff print exactly what the contact's data said at this step.
    const template = await templateOfVersion(deps, tx, { sequenceId: program.sequenceId, version: program.version, name: a.template });
    const rendered = template.render(
      renderContext({
        contact: c,
        links: deps.links.lazy(touchSubject(touch)).links,
        touch: { id: touch.id, stepId: touch.step_id, template: a.template },
        sequence: { id: program.sequenceId, name: program.definition.name, timezone: program.definition.timezone },
        from: deps.config.from,
        now: DateTime.fromJSDate(touch.due_at),
        defaultZone: deps.config.defaultZone,
      }),
    );
    return {
      ...common,
      kind: a.medium,
      title: `${a.medium === 'postcard' ? 'Postcard' : 'Letter'} "${a.template}" to ${displayName(c)}`,
      note: c.address ? null : 'No postal address on file: find one or skip this piece.',
      content: { template: a.template, subject: rendered.subject, html: rendered.html, text: rendered.text },
      history: [],
    };
  }
  const history = (scope.history ?? (await recentHistory(tx, c.id, HISTORY_FOR_CALLS))).slice(0, HISTORY_FOR_CALLS);
  return {
    ...common,
    kind: a.kind === 'call_task' ? 'call' : 'notice',
    priority: a.kind === 'call_task' ? a.priority : 'normal',
    title: a.kind === 'call_task' ? `Call ${displayName(c)}` : `Follow up ${displayName(c)}${a.to ? ` (for ${a.to})` : ''}`,
    note: a.note + (a.kind === 'call_task' && !c.phone ? ' (no phone number on file)' : ''),
    content: null,
    history,
  };
}

export function displayName(c: Pick<Contact, 'firstName' | 'lastName' | 'email'>): string {
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ');
  return name ? `${name} <${c.email}>` : c.email;
}
