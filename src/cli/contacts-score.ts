import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withReadDb } from '../app/composition-root.js';
import { InputError } from '../errors.js';
import type { ContactScoreView } from '../queries/contact-score.js';
import { contactScore } from '../queries/contact-score.js';
import { emit } from './format.js';
import { action, config } from './shared.js';
import { addScoringOption, requiredScoringRules } from './scoring-option.js';

/** `nurture contacts score EMAIL`: the score recomputed from the rules and the event log, every point explained. */
export function registerScore(contacts: Command): void {
  addScoringOption(
    contacts
      .command('score')
      .description("explain a contact's score: each fit rule and event that counts, its points then and now")
      .argument('<email>', 'the contact')
      .option('--at <iso>', 'the score as it was (or will be, with no new events) at this instant, e.g. 2026-12-01T00:00:00Z')
      .option('--json', 'print as JSON'),
  ).action(
    action(async (email: string, o: { at?: string; json?: boolean; scoring: string }) => {
      const rules = await requiredScoringRules(o.scoring);
      const at = o.at === undefined ? DateTime.utc() : DateTime.fromISO(o.at, { setZone: true });
      if (!at.isValid) throw new InputError(`--at: "${o.at}" is not an ISO 8601 instant (e.g. 2026-12-01T09:00:00Z)`);
      const view = await withReadDb(config(), (db) => contactScore(db, rules, email, at.toJSDate()));
      emit({ data: view, text: scoreText(view) }, o.json);
    }),
  );
}

const pts = (n: number) => {
  const r = Math.round(n * 10) / 10;
  return `${r > 0 ? '+' : ''}${r}`;
};
const when = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export function scoreText(v: ContactScoreView): string {
  const x = v.explanation;
  const lines = [
    `${v.email}: score ${Math.round(x.total)} (fit ${pts(x.fit)}, engagement ${pts(x.engagement)}) at ${when(x.at)}; stage ${v.stage}`,
    '',
    'Fit',
    ...(x.fitLines.length === 0 ? ['  (no fit rule matches)'] : x.fitLines.map((l) => `  ${pts(l.points).padStart(6)}  ${l.rule}  (${l.field} = ${JSON.stringify(l.value)})`)),
    '',
    'Engagement              then     now',
    ...(x.eventLines.length === 0
      ? ['  (no scored events)']
      : x.eventLines.map((l) => {
          const capped = l.then < l.raw ? ` (capped from ${pts(l.raw)})` : '';
          return `  ${when(l.at)}  ${pts(l.then).padStart(6)}  ${pts(l.now).padStart(6)}  ${l.rule}: ${l.type} ${l.eventId}${capped}`;
        })),
    ...x.caps.map((c) => `  ${c.cap} cap: ${pts(-c.cut)}`),
    '',
    `Cached: ${v.cached.score} (fit ${pts(v.cached.fit)}, engagement ${pts(v.cached.engagement)})${v.cached.at ? ` computed ${v.cached.at}` : ' never computed'}`,
    v.wouldMove ? `Stage: would move ${v.stage} → ${v.wouldMove.to} (${v.wouldMove.reason})` : `Stage: ${v.stage} stays (the score alone points at ${v.scoreStage})`,
  ];
  return lines.join('\n');
}
