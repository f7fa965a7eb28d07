import type { Command } from 'commander';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import { NurtureError, exitCodeOf } from '../errors.js';
import { jsonSafe, terminalSafe } from './terminal-text.js';

/**
 * Exit codes (derived from the error's code in src/errors.ts): 1 the input is wrong (validation,
 * bad flags), 2 a service is missing, 3 a bug, 4 not found, 5 the current state does not allow it.
 */
export const EXIT_INVALID = 1;

export interface Out {
  line(text?: string): void;
  json(value: unknown): void;
  error(text: string): void;
}

export const stdout: Out = {
  line: (text = '') => void process.stdout.write(`${terminalSafe(text)}\n`),
  json: (value) => void process.stdout.write(`${jsonSafe(JSON.stringify(value, null, 2))}\n`),
  error: (text) => void process.stderr.write(`nurture: ${terminalSafe(text)}\n`),
};

let warned = false;
/** The configuration; its warnings (unknown NURTURE_* names) go to stderr once per process. */
export function config(): Config {
  const cfg = loadConfig(process.env);
  if (!warned) for (const w of cfg.warnings) stdout.error(w);
  warned = true;
  return cfg;
}

/** Wraps a command's action: a NurtureError is one clear line on stderr, never a stack trace. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (err) {
      process.exitCode = exitCodeOf(err);
      if (err instanceof NurtureError && err.code !== 'INTERNAL') {
        stdout.error(err.message);
        return;
      }
      stdout.error(`unexpected error (a bug in Nurture, please report it): ${(err as Error)?.stack ?? String(err)}`);
    }
  };
}

export function addDirOptions(cmd: Command): Command {
  return cmd
    .option('--sequences <dir>', 'directory of sequence files', './sequences')
    .option('--templates <dir>', 'directory of templates', './templates');
}
