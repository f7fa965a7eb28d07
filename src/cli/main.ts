#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

/**
 * Each command lives in its own module; only the one being run is loaded (the rest pull in
 * BullMQ, pg and PGlite), so `nurture preview` and `nurture validate` start fast. Without a
 * known command name, all are loaded for the help text and commander's suggestions.
 */
const COMMANDS: Record<string, () => Promise<{ register(program: Command): void }>> = {
  start: () => import('./start.js'),
  worker: () => import('./worker.js'),
  api: () => import('./api.js'),
  migrate: () => import('./migrate.js'),
  emit: () => import('./emit.js'),
  validate: () => import('./validate.js'),
  preview: () => import('./preview.js'),
  contacts: () => import('./contacts.js'),
  tasks: () => import('./tasks.js'),
  events: () => import('./events.js'),
  stats: () => import('./stats.js'),
  enrollments: () => import('./enrollments.js'),
  sequences: () => import('./sequences.js'),
  touches: () => import('./touches.js'),
  doctor: () => import('./doctor.js'),
  report: () => import('./report.js'),
  scores: () => import('./scores.js'),
  render: () => import('./render.js'),
  'send-test': () => import('./send-test.js'),
  'mail-run': () => import('./mail-run.js'),
  'ics-url': () => import('./ics-url.js'),
  users: () => import('./users.js'),
};

// The same path from src/cli (tsx) and dist/cli (built): two levels up is the package root.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };

const program = new Command('nurture')
  .description('Nurture: follow up every opt-in until they are ready to talk, then hand them to sales')
  .version(`nurture ${String(pkg.version)} (${String(pkg.name)}, Node ${process.versions.node})`, '-V, --version', 'print the version')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

const name = process.argv[2];
const load = name !== undefined && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!] : Object.values(COMMANDS);
for (const module of await Promise.all(load.map((l) => l()))) module.register(program);
// `report speed-to-lead` lives in its own file and adds itself to `report` (registered just above).
if (name === undefined || name === 'report' || !Object.hasOwn(COMMANDS, name)) (await import('./speed-to-lead.js')).register(program);

await program.parseAsync(process.argv);
