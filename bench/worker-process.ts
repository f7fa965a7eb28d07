/**
 * A second `nurture worker`-like process for the bench (fork): runs the wake-up and send workers
 * on the database, queue prefix and SMTP sink it is given, until told to stop.
 */
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startEngine } from '../src/workers/runtime.js';

const o = JSON.parse(process.env.BENCH_WORKER ?? '{}') as { env: Record<string, string>; templatesDir: string };
const engine = await startEngine({
  config: loadConfig(o.env),
  templatesDir: o.templatesDir,
  sweeper: false,
  mayLaunchRedis: false,
  serveEmbedded: false,
  log: createLogger('warn'),
  workers: { events: false, wakes: true, sends: true },
});
process.send?.({ ready: true });
process.on('message', (m: { ask?: string }) => {
  if (m.ask === 'stop') void engine.stop().then(() => process.exit(0));
});
