import { describe, expect, it } from 'vitest';
import { confirmedText, createdText } from '../../src/cli/mail-run.js';

describe('nurture mail-run output', () => {
  it('names the run, the files, the skipped pieces with why, the held ones and the next command', () => {
    const text = createdText({
      runId: 'mr-1',
      kind: 'postcard',
      dueDate: '2026-12-03',
      zone: 'America/Chicago',
      pieces: [{ taskId: 4, email: 'a@x.example', fullName: 'A' }],
      files: { csv: '/out/mr-1.csv', pdf: '/out/mr-1.pdf' },
      skipped: [{ taskId: 5, email: 'b@x.example', reason: 'no_address', detail: 'no postal address on file' }],
      held: [{ taskId: 6, runId: 'mr-0' }],
      cut: [],
    });
    expect(text.split('\n')).toEqual([
      'mail run mr-1: 1 postcard (postcards due by the end of 2026-12-03 (America/Chicago))',
      '  csv  /out/mr-1.csv',
      '  pdf  /out/mr-1.pdf',
      'skipped 1:',
      '  #5  b@x.example: no postal address on file',
      'held 1 already in the unconfirmed run mr-0 (confirm with: nurture mail-run --confirm mr-0, or export again with --again)',
      'once the vendor has the files: nurture mail-run --confirm mr-1',
    ]);
  });

  it('says plainly when a run was confirmed before', () => {
    const at = new Date('2026-12-03T15:00:00Z');
    expect(confirmedText({ runId: 'mr-1', kind: 'letter', dueDate: '2026-12-03', alreadyConfirmed: true, confirmedAt: at, confirmedBy: 'ops', sent: [], alreadySent: [], left: [] })).toBe(
      'mail run mr-1 was already confirmed by ops at 2026-12-03T15:00:00.000Z: nothing changed',
    );
    expect(confirmedText({ runId: 'mr-1', kind: 'letter', dueDate: '2026-12-03', alreadyConfirmed: false, confirmedAt: at, confirmedBy: 'ops', sent: [1, 2], alreadySent: [], left: [{ taskId: 3, reason: 'task 3 was cancelled' }] })).toBe(
      'mail run mr-1 confirmed: 2 pieces marked sent\nleft as they are 1:\n  #3  task 3 was cancelled',
    );
  });
});
