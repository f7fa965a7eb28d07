import type { Logger } from '../logger.js';

/**
 * Resolves once the process has been asked to stop and `stop` has drained in-flight work.
 * A second signal exits at once, for an operator who really means it.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'stopping: finishing in-flight work');
      stop()
        .then(() => log.info('stopped cleanly'))
        .catch((err: Error) => {
          log.error({ err: err.message }, 'error while stopping');
          process.exitCode = 1;
        })
        .finally(() => {
          process.off('SIGTERM', handler);
          process.off('SIGINT', handler);
          resolve();
        });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
