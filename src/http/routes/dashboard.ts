import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { zoneProblem } from '../../sequences/zones.js';
import { InputError } from '../../errors.js';
import type { ReportFilter } from '../../queries/reports/opt-in-cohort.js';
import { buildReport } from '../../queries/reports/report.js';
import type { ReportName } from '../../queries/reports/report.js';
import { funnelReport } from '../../queries/reports/funnel.js';
import { sequencesReport } from '../../queries/reports/sequence-steps.js';
import { funnelTable, sequencesTable, timeToLeadTable, toCsv } from '../../queries/reports/tables.js';
import { timeToLeadReport } from '../../queries/reports/time-to-lead.js';
import type { ReadDb } from '../../queries/read-db.js';
import { requireAdmin } from '../admin-auth.js';
import { DASHBOARD_SCRIPT } from '../dashboard-client.js';
import type { DashboardData } from '../dashboard-page.js';
import { dashboardPage } from '../dashboard-page.js';
import type { RouteModule } from '../server.js';

/**
 * `/dashboard`: the reports of `nurture report` as one page with charts, for operators only
 * (HTTP Basic with NURTURE_ADMIN_PASSWORD). Charts are drawn in the browser by Chart.js, served
 * from the installed package (node_modules), so the page needs nothing from the internet;
 * `/dashboard/export/NAME.csv|json` gives each report as the CLI's `--csv` / `--json` would.
 */

const filterSchema = z.object({
  since: z.string().max(40).optional(),
  source: z.string().max(200).optional(),
  sequence: z.string().max(200).optional(),
  // Blank is UTC: the form sends the field empty.
  zone: z
    .string()
    .max(64)
    .optional()
    .superRefine((v, c) => {
      const problem = v === undefined || v.trim() === '' ? null : zoneProblem(v.trim());
      if (problem) c.addIssue({ code: 'custom', message: problem });
    }),
});

// Whatever the browser or a script sends: no script, no frames, nothing but this origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const LIMIT = { rateLimit: { max: 60, timeWindow: '1 minute' } };

function filterOf(q: z.infer<typeof filterSchema>, now: DateTime): ReportFilter & { now: Date } {
  const blank = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const since = blank(q.since);
  const zone = blank(q.zone);
  let sinceAt: Date | undefined;
  if (since !== undefined) {
    const t = DateTime.fromISO(since, { zone: zone ?? 'utc' });
    if (!t.isValid) throw new InputError(`since: "${since}" is not an ISO 8601 date or time (e.g. 2026-11-25 or 2026-11-25T09:00:00Z)`);
    sinceAt = t.toJSDate();
  }
  return { since: sinceAt, source: blank(q.source), sequence: blank(q.sequence), zone, now: now.toJSDate() };
}

let chartJs: Promise<Buffer> | undefined;
/** Chart.js's own browser build, from the installed package. */
function chartJsSource(): Promise<Buffer> {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return (chartJs ??= readFile(path.join(path.dirname(main), 'chart.umd.min.js')));
}

export async function dashboardData(db: ReadDb, f: ReportFilter & { now: Date }): Promise<DashboardData> {
  // One after another: the read pool is small and each report is a few large scans.
  const funnel = await funnelReport(db, f);
  const timeToLead = await timeToLeadReport(db, f);
  // Sequences are per enrollment: the source filter does not apply to them.
  const sequences = await sequencesReport(db, { since: f.since, sequence: f.sequence, now: f.now });
  return {
    funnel,
    timeToLead,
    sequences,
    tables: { funnel: funnelTable(funnel), timeToLead: timeToLeadTable(timeToLead), sequences: sequencesTable(sequences) },
    filter: { since: f.since ? f.since.toISOString() : '', source: f.source ?? '', sequence: f.sequence ?? '', zone: f.zone ?? '' },
  };
}

export const dashboardRoutes: RouteModule = (server, ctx) => {
  const onRequest = requireAdmin(ctx.config);

  server.get('/dashboard', { onRequest, config: LIMIT, schema: { querystring: filterSchema } }, async (req, reply) => {
    const data = await dashboardData(ctx.read, filterOf(req.query, ctx.clock()));
    return reply.header('content-security-policy', CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(dashboardPage(data));
  });

  server.get(
    '/dashboard/export/:file',
    {
      onRequest,
      config: LIMIT,
      schema: {
        params: z.object({ file: z.string().regex(/^(funnel|time-to-lead|sequences)\.(csv|json)$/, 'is not funnel, time-to-lead or sequences with .csv or .json') }),
        querystring: filterSchema,
      },
    },
    async (req, reply) => {
      const [name, format] = req.params.file.split('.') as [ReportName, 'csv' | 'json'];
      const r = await buildReport(ctx.read, name, filterOf(req.query, ctx.clock()));
      reply.header('cache-control', 'no-store');
      if (format === 'json') return reply.type('application/json; charset=utf-8').send(JSON.stringify(r.data));
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${req.params.file}"`).send(toCsv(r.table));
    },
  );

  server.get('/dashboard/assets/chart.umd.min.js', { onRequest, schema: {} }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'private, max-age=3600').send(await chartJsSource()),
  );
  server.get('/dashboard/assets/dashboard.js', { onRequest, schema: {} }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'private, max-age=300').send(DASHBOARD_SCRIPT),
  );
};
