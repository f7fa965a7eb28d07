import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  name?: string;
  /** Forced format (NURTURE_LOG_FORMAT); undefined decides by whether stderr is a terminal. */
  format?: LogFormat | undefined;
  /** Whether the log's destination (stderr) is a terminal; asked of the process by default. */
  isTerminal?: boolean;
}

/**
 * Human-readable lines for a person at a terminal, JSON lines for whatever reads a pipe or a file
 * (a log shipper, `jq`). The log goes to stderr, so it is stderr that is asked: command output on
 * stdout stays clean for pipes and --json either way.
 */
export function logFormatFor(forced: LogFormat | undefined, isTerminal: boolean): LogFormat {
  return forced ?? (isTerminal ? 'pretty' : 'json');
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const isTerminal = options.isTerminal ?? process.stderr.isTTY === true;
  const settings = { name: options.name ?? 'nurture', level, base: { pid: process.pid } };
  // A silent logger needs no formatting thread.
  if (level === 'silent' || logFormatFor(options.format, isTerminal) === 'json') {
    return pino(settings, pino.destination({ dest: 2, sync: false }));
  }
  // pino-pretty as a transport: it formats in a worker thread, off the engine's event loop.
  const transport = pino.transport({
    target: 'pino-pretty',
    options: { destination: 2, colorize: isTerminal, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' },
  });
  return pino(settings, transport);
}
