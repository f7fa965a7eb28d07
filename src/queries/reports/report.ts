import { InputError } from '../../errors.js';
import type { ReadDb } from '../read-db.js';
import type { FunnelReport } from './funnel.js';
import { funnelReport } from './funnel.js';
import type { ReportFilter } from './opt-in-cohort.js';
import type { SequencesReport } from './sequence-steps.js';
import { sequencesReport } from './sequence-steps.js';
import type { Table } from './tables.js';
import { funnelTable, sequencesTable, timeToLeadTable } from './tables.js';
import type { TimeToLeadReport } from './time-to-lead.js';
import { timeToLeadReport } from './time-to-lead.js';

/** One report by name, as data and as its table: what `nurture report` and the dashboard both show. */

export const REPORT_NAMES = ['funnel', 'time-to-lead', 'sequences'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];

export type ReportResult =
  | { name: 'funnel'; data: FunnelReport; table: Table }
  | { name: 'time-to-lead'; data: TimeToLeadReport; table: Table }
  | { name: 'sequences'; data: SequencesReport; table: Table };

export async function buildReport(db: ReadDb, name: ReportName, f: ReportFilter & { now: Date }): Promise<ReportResult> {
  switch (name) {
    case 'funnel': {
      const data = await funnelReport(db, f);
      return { name, data, table: funnelTable(data) };
    }
    case 'time-to-lead': {
      const data = await timeToLeadReport(db, f);
      return { name, data, table: timeToLeadTable(data) };
    }
    case 'sequences': {
      if (f.source !== undefined) throw new InputError('--source: the sequences report is per sequence and step; use --sequence or --since');
      const data = await sequencesReport(db, f);
      return { name, data, table: sequencesTable(data) };
    }
  }
}
