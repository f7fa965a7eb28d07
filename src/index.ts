/**
 * What other code may import from the `nurture` package: the sequence authoring helper and the
 * event contract for producers. Everything else is internal and may change.
 */
export { defineSequence } from './sequences/define-sequence.js';
export type { SequenceFile } from './sequences/define-sequence.js';
export { eventSchema, MAX_EVENT_BYTES } from './sequences/event.js';
export type { NurtureEventInput as NurtureEvent } from './sequences/event.js';
export { EVENT_JOB, EVENTS_QUEUE } from './workers/queues.js';
