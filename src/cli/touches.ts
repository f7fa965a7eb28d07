import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withApp, withQueues } from '../app/composition-root.js';
import { retryTouches } from '../app/retry-touches.js';
import { InputError } from '../errors.js';
import { emit } from './format.js';
import { action, config } from './shared.js';

/** `nurture touches retry ID | --failed`: failed emails back to pending and onto the send queue. */
export function register(program: Command): void {
  const touches = program.command('touches').description('touches (emails, pieces, calls) by id');
  touches
    .command('retry')
    .description('send a failed email again (or every failed one with --failed), with the same Message-ID')
    .argument('[id]', 'touch id (nurture contacts show EMAIL --json lists them)')
    .option('--failed', 'every failed email whose contact may still receive it')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string | undefined, o: { failed?: boolean; json?: boolean }) => {
        if ((id === undefined) === (o.failed === undefined)) throw new InputError('touches retry: give a touch id or --failed (one of them)');
        const cfg = config();
        const sel = id !== undefined ? { touchId: id.trim() } : ({ allFailed: true } as const);
        const r = await withQueues(cfg, (queues) => withApp(cfg, (app) => retryTouches(app.deps, queues, sel, DateTime.utc())));
        const lines = r.retried.map((t) => `retrying ${t.touchId} (${t.email}, step ${t.stepId})${t.lastError ? `: it failed with: ${t.lastError}` : ''}`);
        for (const s of r.skipped) lines.push(`not retried ${s.touchId} (${s.email}): ${s.reason}`);
        lines.push(r.retried.length === 0 ? 'no failed email to retry' : `${r.retried.length} email(s) back to pending and on the send queue`);
        emit({ data: r, text: lines.join('\n') }, o.json);
      }),
    );
}
