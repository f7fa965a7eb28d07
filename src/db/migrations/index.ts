import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './2026-11-23T000000-initial.js';
import * as noticeTasks from './2026-11-23T060000-notice-tasks.js';
import * as eventBody from './2026-12-01T100000-event-body.js';
import * as serviceHealth from './2026-12-01T110000-service-health.js';
import * as quarantine from './2026-12-01T120000-quarantine.js';
import * as sequencesRevision from './2026-12-01T130000-sequences-revision.js';
import * as manualControl from './2026-12-01T140000-manual-control.js';
import * as stageChanges from './2026-12-01T150000-stage-changes.js';
import * as suppressionConsent from './2026-12-02T090000-suppression-consent.js';
import * as eventIntake from './2026-12-02T100000-event-intake.js';
import * as pendingOptIns from './2026-12-02T110000-pending-opt-ins.js';
import * as topicOptOuts from './2026-12-02T120000-topic-opt-outs.js';
import * as touchClicks from './2026-12-02T140000-touch-clicks.js';
import * as scores from './2026-12-02T150000-scores.js';
import * as reportIndexes from './2026-12-02T160000-report-indexes.js';
import * as reportRollups from './2026-12-02T160500-report-rollups.js';
import * as staffWork from './2026-12-03T090000-staff-work.js';
import * as sweepIndexes from './2026-12-03T130000-sweep-indexes.js';
import * as eventPartitions from './2026-12-03T140000-event-partitions.js';
import * as eventPartitionMove from './2026-12-03T160000-event-partition-move.js';
import * as touchPartitions from './2026-12-04T090000-touch-partitions.js';
import * as reportRollupsDeferred from './2026-12-04T120000-report-rollups-deferred.js';

/**
 * Every migration, by name, in the order they were written. Append a line for each new file.
 *
 * A static import map rather than Kysely's FileMigrationProvider: it works the same from `src`
 * under tsx/vitest and from the compiled `dist`, and a bundler can see the files.
 */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '2026-11-23T000000-initial': initial,
  '2026-11-23T060000-notice-tasks': noticeTasks,
  '2026-12-01T100000-event-body': eventBody,
  '2026-12-01T110000-service-health': serviceHealth,
  '2026-12-01T120000-quarantine': quarantine,
  '2026-12-01T130000-sequences-revision': sequencesRevision,
  '2026-12-01T140000-manual-control': manualControl,
  '2026-12-01T150000-stage-changes': stageChanges,
  '2026-12-02T090000-suppression-consent': suppressionConsent,
  '2026-12-02T100000-event-intake': eventIntake,
  '2026-12-02T110000-pending-opt-ins': pendingOptIns,
  '2026-12-02T120000-topic-opt-outs': topicOptOuts,
  '2026-12-02T140000-touch-clicks': touchClicks,
  '2026-12-02T150000-scores': scores,
  '2026-12-02T160000-report-indexes': reportIndexes,
  '2026-12-02T160500-report-rollups': reportRollups,
  '2026-12-03T090000-staff-work': staffWork,
  '2026-12-03T130000-sweep-indexes': sweepIndexes,
  '2026-12-03T140000-event-partitions': eventPartitions,
  '2026-12-03T160000-event-partition-move': eventPartitionMove,
  '2026-12-04T090000-touch-partitions': touchPartitions,
  '2026-12-04T120000-report-rollups-deferred': reportRollupsDeferred,
});

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return { ...migrations };
  },
};
