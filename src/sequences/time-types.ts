/**
 * Plain-data descriptions of time as marketers write it. They are JSON-serialisable because they
 * are stored with each sequence version and inside enrollment state.
 */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** "HH:MM", 24-hour, local to the contact's zone. */
export type TimeOfDay = string;

export interface CalendarParts {
  years?: number;
  months?: number;
  weeks?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
}

/** `text` keeps what the marketer wrote, for messages and previews. */
export type DurationSpec =
  | { kind: 'calendar'; parts: CalendarParts; text: string }
  | { kind: 'business_days'; days: number; text: string };

export type WaitSpec =
  | { kind: 'for'; duration: DurationSpec }
  | { kind: 'until'; at: TimeOfDay; on: Weekday[] };

/** Opening hours for touches: a touch due outside them moves to the next opening. */
export interface SendWindow {
  days: Weekday[];
  from: TimeOfDay;
  to: TimeOfDay;
}

/** Limits on emails per contact across all sequences, counted over rolling 24 h / 7 days. */
export interface FrequencyCap {
  perDay?: number;
  perWeek?: number;
}

/** Where and what "a day" is for one contact. */
export interface TimeContext {
  /** IANA zone, e.g. America/Chicago. */
  zone: string;
  /** Local dates (yyyy-mm-dd) on which no touch goes out and which are not business days. */
  holidays: ReadonlySet<string>;
}
