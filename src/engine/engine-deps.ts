import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { ScoringRules } from '../scoring/rules.js';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { Contact } from '../sequences/contact.js';
import type { MessageLinks } from '../security/message-links.js';
import type { TemplateCache } from '../templates/compile.js';
import type { SequenceRegistry } from './sequence-registry.js';
import type { WriteBuffer } from './write-buffer.js';

/** What the engine needs from the outside world; small on purpose. */
export interface EngineDeps {
  db: Kysely<Database>;
  registry: SequenceRegistry;
  templates: TemplateCache;
  config: Pick<Config, 'defaultZone' | 'caps' | 'promotion' | 'leadCallDue' | 'from' | 'tracking' | 'unsubscribeMailto'>;
  /** Signed links put in mail (unsubscribe, preferences, tracking). */
  links: MessageLinks;
  /** The rules of scoring.yaml; absent: no scoring (scores stay 0, stages move by promotion only). */
  scoring?: ScoringRules | undefined;
}

/** Queue work to do once the transaction has committed (never before: a rollback would leave ghosts). */
export interface AfterCommit {
  sends: { touchId: string; at: Date; correlationId?: string }[];
  wakes: { enrollmentId: string; version: number; at: Date; correlationId?: string }[];
}

/** The same work, tagged with the id of what caused it (an event's id), for the logs of the jobs it becomes. */
export function correlated(after: AfterCommit, correlationId: string | undefined): AfterCommit {
  if (correlationId === undefined) return after;
  return {
    sends: after.sends.map((s) => ({ ...s, correlationId: s.correlationId ?? correlationId })),
    wakes: after.wakes.map((w) => ({ ...w, correlationId: w.correlationId ?? correlationId })),
  };
}

export function emptyAfterCommit(): AfterCommit {
  return { sends: [], wakes: [] };
}

/** Per-transaction view of one contact, shared by every enrollment the transaction advances. */
export interface ContactScope {
  contact: Contact;
  history: HistoryEntry[] | undefined;
  recentEmails: string[] | undefined;
  after: AfterCommit;
  /** Sequences entered in this transaction, so a `start` loop cannot recurse forever. */
  started: Set<string>;
  /** When set, rows of new enrollments are collected here and written in bulk by the caller. */
  buffer?: WriteBuffer | undefined;
}
