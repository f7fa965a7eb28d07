#!/usr/bin/env node
import { Command } from 'commander';
import { register as contacts } from './contacts.js';
import { register as emit } from './emit.js';
import { register as events } from './events.js';
import { register as migrate } from './migrate.js';
import { register as preview } from './preview.js';
import { register as start } from './start.js';
import { register as stats } from './stats.js';
import { register as tasks } from './tasks.js';
import { register as validate } from './validate.js';
import { register as worker } from './worker.js';

const program = new Command('nurture')
  .description('Nurture: follow up every opt-in until they are ready to talk, then hand them to sales')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

for (const r of [start, worker, migrate, emit, validate, contacts, tasks, events, stats, preview]) r(program);

await program.parseAsync(process.argv);
