import type { Worker } from 'bullmq';
import { DateTime } from 'luxon';
import { checkPublishedSequences } from '../app/check-published-sequences.js';
import { engineDeps } from '../app/composition-root.js';
import { checkReadiness } from '../app/check-readiness.js';
import type { HttpContext } from '../http/context.js';
import { readinessProbes } from './readiness-probes.js';
import type { RunningHttpServer } from '../http/start-server.js';
import { startHttpServer } from '../http/start-server.js';
import { healthRoutes } from '../http/routes/health.js';
import { metricsRoutes } from '../http/routes/metrics.js';
import type { MetricsExposition } from '../app/metrics.js';
import { knownEventTypes } from '../app/metrics.js';
import { countStuck } from '../queries/stuck-enrollments.js';
import { reportBacklog } from '../queries/report-backlog.js';
import { PrometheusMetrics } from './prometheus-metrics.js';
import type { Config } from '../config.js';
import type { Store } from '../db/database.js';
import { openStore } from '../db/database.js';
import { storeOptions } from '../app/store-options.js';
import type { EmbeddedServer } from '../db/embedded-server.js';
import { startEmbeddedServer } from '../db/embedded-server.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import { SequenceRegistry } from '../engine/sequence-registry.js';
import type { LoadedSequence } from '../sequences/load.js';
import type { Topic } from '../sequences/topics.js';
import { TemplateCache } from '../templates/compile.js';
import type { MailSender } from '../templates/mail-sender.js';
import type { TransportMonitor } from '../templates/transport-health.js';
import type { Logger } from '../logger.js';
import { startEventsWorker } from './events.worker.js';
import { durableIntake } from './durable-intake.js';
import { IntakeDrainer } from './intake-drainer.js';
import { queueScheduler } from './schedule.js';
import { openMailTransport } from './mail-transport.js';
import type { Queues } from './queues.js';
import { openQueues } from './queues.js';
import type { PrivateRedis, RedisClient, RedisTarget } from './redis-connection.js';
import { describeRedis, redisClient, resolveRedisTarget } from './redis-connection.js';
import { ItemGate } from './item-gate.js';
import { startSendsWorker } from './sends.worker.js';
import { watchSequences } from './sequence-watcher.js';
import { Sweeper } from './sweeper.js';
import { ScoreSweep } from './score-sweep.js';
import type { ScoringRules } from '../scoring/rules.js';
import { ConsentExpiry } from './consent-expiry.js';
import { PartitionMaintenance } from './partition-maintenance.js';
import { ReportCatchUp } from './report-catch-up.js';
import type { FormDefinition } from '../forms/form-config.js';
import { startWakesWorker } from './wakes.worker.js';
import { sendRoomBeside } from './work-priority.js';
import { StaffSweep } from './staff-sweep.js';
import type { WorkerContext } from './worker-context.js';
import { workerOptionsFactory } from './worker-context.js';
import type { TeamDirectory } from '../staff/directory.js';
import { StaffDigests } from './staff-digests.js';

export interface EngineOptions {
  config: Config;
  templatesDir: string;
  /** Sequences to publish as live (nurture start); worker processes read the live set from the database. */
  publish?: readonly LoadedSequence[];
  /** Run the sweeper in this process (nurture start does; extra worker processes need not). */
  sweeper: boolean;
  /** May start a private redis-server when none answers (the zero-set-up quick start). */
  mayLaunchRedis: boolean;
  /** Serve the embedded store to other CLI processes. */
  serveEmbedded: boolean;
  log: Logger;
  /** Reload this sequences directory (and the templates) on SIGHUP, and on every edit with `watch`. */
  reload?: { sequencesDir: string; watch: boolean };
  /** Which workers to run (all by default); the benchmark runs the events worker alone. */
  workers?: { events?: boolean; wakes?: boolean; sends?: boolean };
  /** Serve HTTP (NURTURE_HTTP_HOST:NURTURE_HTTP_PORT) from this process. */
  http?: boolean;
  /** The scoring rules (--scoring); absent: no scoring. */
  scoring?: ScoringRules | undefined;
  /** Topics of the preference page and of sequences' `topic:` (topics.yaml). */
  topics?: readonly Topic[];
  /** The hosted opt-in forms it serves (forms.yaml). */
  forms?: ReadonlyMap<string, FormDefinition>;
  /** The team directory (team.yaml, --directory): staff tasks are assigned, their SLAs swept, digests sent. */
  staff?: TeamDirectory | undefined;
  /** Overrides for tests: an existing store, a mail sender, a clock. */
  store?: Store;
  mail?: MailSender;
  clock?: () => DateTime;
}

export interface RunningEngine {
  deps: EngineDeps;
  queues: Queues;
  sweeper: Sweeper | undefined;
  store: Store;
  mail: MailSender;
  /** REDIS_URL as resolved; on a cluster, its description (`Redis Cluster host:port,...`). */
  redisUrl: string;
  /** The mail transport's state as this process sees it (undefined when a test passed its own sender). */
  mailHealth: TransportMonitor | undefined;
  /** Where the HTTP server listens, when this process serves one. */
  http: RunningHttpServer | undefined;
  /** The server of /metrics and /healthz alone, in a process without HTTP and with NURTURE_METRICS_PORT set. */
  metricsServer: RunningHttpServer | undefined;
  /** This process's figures, as /metrics serves them. */
  metrics: MetricsExposition;
  /** Drains in-flight jobs, then closes everything this engine opened. Idempotent. */
  stop(): Promise<void>;
}

export async function startEngine(o: EngineOptions): Promise<RunningEngine> {
  const { config, log } = o;
  const clock = o.clock ?? (() => DateTime.utc());
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'error while shutting down');
      }
    }
  };
  try {
    const store = o.store ?? (await openStore(storeOptions(config, { poolSize: config.dbPool, log })));
    if (!o.store) cleanups.push(() => store.close());
    let embedded: EmbeddedServer | undefined;
    if (o.serveEmbedded && store.pglite) {
      embedded = await startEmbeddedServer(store as Store & { pglite: NonNullable<Store['pglite']> }, config.dataDir);
      cleanups.push(() => embedded!.close());
    }

    // Before anything else is opened: a refusal is one clear line, with nothing to tear down.
    if (o.publish) {
      const check = await checkPublishedSequences(store.db, o.publish, o.reload?.sequencesDir ?? 'the sequences given');
      for (const w of check.warnings) log.warn(w);
    }
    const redis: { target: RedisTarget; owned?: PrivateRedis } = await resolveRedisTarget(config, {
      dataDir: config.dataDir,
      mayLaunch: o.mayLaunchRedis,
      log: (msg) => log.info(msg),
    });
    if (redis.owned) cleanups.push(() => redis.owned!.stop());
    const producer = redisClient(redis.target, 'producer');
    const consumer = redisClient(redis.target, 'worker');
    cleanups.push(async () => {
      await quit(producer);
      await quit(consumer);
    });
    const queues = openQueues(producer, config.queuePrefix, { wakes: config.wakeBatch, sends: config.sendBatch });
    cleanups.push(() => queues.close());

    const registry = new SequenceRegistry(store.db, { templatesDir: o.templatesDir });
    if (o.publish) {
      for (const p of await registry.publish(o.publish)) {
        if (p.previous && p.previous !== p.version) log.info({ sequence: p.sequenceId, from: p.previous, to: p.version }, 'sequence changed: new version is live');
      }
    } else {
      await registry.refresh();
    }
    const templates = new TemplateCache(o.templatesDir);
    const deps: EngineDeps = engineDeps(store.db, registry, templates, config, o.scoring);
    if (o.reload) {
      const watcher = watchSequences({ ...o.reload, templatesDir: o.templatesDir, topics: o.topics ?? [], registry, templates, log, db: store.db });
      cleanups.push(async () => watcher.close());
    }
    const transport = o.mail ? undefined : openMailTransport({ config, db: store.db, log });
    const mail = o.mail ?? transport!.mail;
    if (transport) cleanups.push(() => transport.close());

    const metrics = new PrometheusMetrics(knownEventTypes(config.promotion.onEvents), log);
    metrics.collectQueues([queues.events, queues.wakes, queues.sends]);
    metrics.collectStuck(() => countStuck(store.db));
    metrics.collectReportBacklog(() => reportBacklog(store.db));

    const ctx: WorkerContext = {
      app: { deps, scheduler: queueScheduler(queues, config.horizonMs), log, staff: o.staff },
      deps,
      queues,
      mail,
      log,
      metrics,
      clock,
      horizonMs: config.horizonMs,
      concurrency: config.concurrency,
      eventBatch: config.eventBatch,
      wakeBatch: config.wakeBatch,
      sendBatch: config.sendBatch,
      maxFutureSkew: config.maxFutureSkew,
      workerOptions: workerOptionsFactory(consumer, config.queuePrefix, config.lockMs),
    };
    const roles = { events: true, wakes: true, sends: true, ...o.workers };
    // Mail links and HTTP tokens are signed: a missing NURTURE_SECRET is one line at start, not a failed send later.
    if (roles.sends || o.http) void deps.links.signer;
    // Links in mail sent from a process that serves no HTTP would name 127.0.0.1: say so, once.
    if (roles.sends && !o.http && !config.http.publicUrlGiven) {
      log.warn({ publicUrl: config.http.publicUrl }, 'NURTURE_PUBLIC_URL is not set: unsubscribe, preference and tracking links in mail sent by this process point at this default address; set it to the address people reach the HTTP server at');
    }
    const wakeGate = new ItemGate(config.concurrency.wakes);
    const sendGate = new ItemGate(config.concurrency.sends, roles.wakes ? sendRoomBeside(wakeGate) : undefined);
    metrics.collectInFlight({ ...(roles.wakes ? { wake: wakeGate } : {}), ...(roles.sends ? { send: sendGate } : {}) });
    const workers: Worker[] = [
      ...(roles.events ? [startEventsWorker(ctx)] : []),
      ...(roles.wakes ? [startWakesWorker(ctx, wakeGate)] : []),
      ...(roles.sends ? [startSendsWorker(ctx, sendGate)] : []),
    ];
    for (const w of workers) w.on('error', (err) => log.error({ err: err.message, queue: w.name }, 'worker error'));
    // Closing a Worker waits for its in-flight jobs: a deploy never cuts a step in half.
    cleanups.push(async () => {
      await Promise.all(workers.map((w) => w.close()));
    });

    // No refresh timer: every event and wake-up transaction checks the live set's revision stamp itself.
    let sweeper: Sweeper | undefined;
    if (o.sweeper) {
      sweeper = new Sweeper(store.db, queues, { horizonMs: config.horizonMs, intervalMs: config.sweepIntervalMs, log, metrics });
      sweeper.start(() => clock().toMillis());
      cleanups.push(() => sweeper!.stop());
      if (o.scoring) {
        const scores = new ScoreSweep(ctx.app, o.scoring, clock, { metrics });
        scores.start();
        cleanups.push(() => scores.stop());
      }
      if (o.staff) {
        const staff = new StaffSweep(ctx.app, { mail, clock, metrics });
        staff.start();
        cleanups.push(() => staff.stop());
      }
      const expiry = new ConsentExpiry(ctx.app, { intervalMs: Math.max(config.sweepIntervalMs, 1_000), log, clock, metrics });
      expiry.start();
      cleanups.push(() => expiry.stop());
      const partitions = new PartitionMaintenance(ctx.app, { retentionMonths: { events: config.eventsRetentionMonths, touches: config.touchesRetentionMonths }, log, clock, metrics });
      partitions.start();
      cleanups.push(() => partitions.stop());
      const reports = new ReportCatchUp(ctx.app, { log, metrics });
      reports.start();
      cleanups.push(() => reports.stop());
      // Events received over HTTP (here or by `nurture api` elsewhere) wait in Postgres until applied.
      const drainer = new IntakeDrainer(store.db, queues, { intervalMs: config.sweepIntervalMs, log, metrics });
      drainer.start(() => clock().toMillis());
      cleanups.push(() => drainer.stop());
      if (o.staff) {
        const digests = new StaffDigests(ctx.app, mail, { clock, metrics });
        digests.start();
        cleanups.push(() => digests.stop());
      }
    }

    const probes = readinessProbes({ db: store.db, redis: producer, mail: transport?.monitor });
    const httpContext: HttpContext = {
      app: ctx.app,
      read: store.db,
      config,
      links: deps.links,
      clock,
      readiness: () => checkReadiness(probes),
      intake: durableIntake({ db: store.db, queues, log, clock }),
      metrics,
      queues: [queues.events, queues.wakes, queues.sends],
      topics: o.topics ?? [],
      forms: o.forms ?? new Map(),
    };
    let http: RunningHttpServer | undefined;
    if (o.http) {
      http = await startHttpServer(httpContext, { host: config.http.host, port: config.http.port });
      if (!config.http.publicUrlGiven) deps.links.listening(http.url);
      cleanups.push(() => http!.close());
    }
    // A worker process serves no HTTP, but Prometheus and a container's health check still ask it.
    let metricsServer: RunningHttpServer | undefined;
    if (!o.http && config.http.metricsPort !== undefined) {
      metricsServer = await startHttpServer(httpContext, { host: config.http.host, port: config.http.metricsPort, routes: [healthRoutes, metricsRoutes] });
      cleanups.push(() => metricsServer!.close());
    }

    log.info(
      {
        store: store.describe,
        http: http?.url,
        metrics: metricsServer ? `${metricsServer.url}/metrics` : http ? `${http.url}/metrics` : undefined,
        redis: describeRedis(redis.target),
        mail: mail.describe(),
        sequences: registry.activePrograms().map((p) => `${p.sequenceId}@${p.version}`),
        embedded: embedded?.url,
      },
      'nurture is running',
    );
    let stopping: Promise<void> | undefined;
    return { deps, queues, sweeper, store, mail, redisUrl: redis.target.kind === 'single' ? redis.target.url : describeRedis(redis.target), mailHealth: transport?.monitor, http, metricsServer, metrics, stop: () => (stopping ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function quit(r: RedisClient): Promise<void> {
  if (r.status === 'end' || r.status === 'wait') {
    r.disconnect();
    return;
  }
  await r.quit().catch(() => r.disconnect());
}
