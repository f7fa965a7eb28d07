import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr, so command output on stdout stays clean for pipes and --json. */
export function createLogger(level: string, name = 'nurture'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
}
