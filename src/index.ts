/**
 * What other code may import from the `nurture-engine` package (`import { defineSequence } from
 * 'nurture-engine'`): the sequence authoring helper with its types, and the event contract for
 * producers. Everything else is internal and may change. (`nurture` on npm is another package;
 * the command this package installs is still `nurture`.)
 */
export { defineSequence } from './sequences/define-sequence.js';
export type { SequenceCondition, SequenceFile, SequenceStep } from './sequences/define-sequence.js';
export { eventSchema, MAX_EVENT_BYTES } from './sequences/event.js';
export type { NurtureEventInput as NurtureEvent } from './sequences/event.js';
/** An event that may name its contact by email, by contact id or by touch (see "Subjects" in the README). */
export type { IncomingEventInput } from './sequences/event.js';
export { EVENT_JOB, EVENTS_QUEUE } from './workers/queues.js';
