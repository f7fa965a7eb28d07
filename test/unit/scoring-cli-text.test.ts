import { describe, expect, it } from 'vitest';
import { scoreText } from '../../src/cli/contacts-score.js';
import { rebuildText } from '../../src/cli/scores.js';
import type { ContactScoreView } from '../../src/queries/contact-score.js';

describe('scoring output', () => {
  it('shows every point of a score: fit, events then and now, caps, the stage move', () => {
    const at = Date.parse('2026-11-12T16:00:00Z');
    const view: ContactScoreView = {
      email: 'ada@example.com',
      stage: 'mql',
      cached: { score: 60, fit: 20, engagement: 40, at: '2026-11-02T16:00:00.000Z' },
      scoreStage: 'engaged',
      wouldMove: { to: 'engaged', reason: 'score fell back: engagement 20 < 25' },
      explanation: {
        at,
        fit: 20,
        engagement: 20,
        total: 40,
        fitLines: [{ rule: 'company of 50 or more', field: 'attributes.company_size', value: 120, points: 20 }],
        eventLines: [{ rule: 'pricing page', eventId: 'e7', type: 'page_visited', at: Date.parse('2026-11-02T16:00:00Z'), raw: 10, then: 4, now: 2 }],
        caps: [{ cap: 'group email', cut: 1.5 }],
      },
    };
    expect(scoreText(view).split('\n')).toEqual([
      'ada@example.com: score 40 (fit +20, engagement +20) at 2026-11-12T16:00:00Z; stage mql',
      '',
      'Fit',
      '     +20  company of 50 or more  (attributes.company_size = 120)',
      '',
      'Engagement              then     now',
      '  2026-11-02T16:00:00Z      +4      +2  pricing page: page_visited e7 (capped from +10)',
      '  group email cap: -1.5',
      '',
      'Cached: 60 (fit +20, engagement +40) computed 2026-11-02T16:00:00.000Z',
      'Stage: would move mql → engaged (score fell back: engagement 20 < 25)',
    ]);
  });

  it('says what a dry run would change and that it wrote nothing', () => {
    expect(rebuildText({ contacts: 3, changed: 2, moves: [{ move: 'subscriber→mql', contacts: 1 }], dryRun: true })).toBe(
      '3 contact(s) scored: 2 score(s) would change; 1 contact(s) would change stage\n  subscriber→mql: 1\nnothing was written (run without --dry-run to apply)',
    );
  });
});
