/**
 * The engine's mail transport: the sender the config asks for (SMTP, else the .eml outbox), a
 * monitor that tells the operator when it cannot be reached and records that in Postgres for
 * other processes (`nurture stats`, readiness), and a probe: once at start, so an SMTP server that
 * is down is said before the first send, then while it is down, so its return is seen even when
 * no email is due.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Database } from '../db/schema.js';
import { MAIL_TRANSPORT, recordServiceHealth } from '../db/service-health-repository.js';
import type { Logger } from '../logger.js';
import type { MailSender, TransportObservation } from '../templates/mail-sender.js';
import { createOutboxSender } from '../templates/outbox-sender.js';
import { createSmtpSender } from '../templates/smtp-sender.js';
import type { DkimKey } from '../templates/smtp-sender.js';
import { createThreadedSmtpSender } from '../templates/threaded-smtp-sender.js';
import { TransportMonitor } from '../templates/transport-health.js';

export const PROBE_EVERY_MS = 30_000;

export interface MailTransport {
  mail: MailSender;
  monitor: TransportMonitor;
  /** Stops probing, closes the sender and waits for the last state to be written. */
  close(): Promise<void>;
}

/** The DKIM key named by the settings, read once at start: an unreadable file stops the process with its name. */
function dkimKeyOf(dkim: Config['dkim']): DkimKey | undefined {
  if (!dkim) return undefined;
  let privateKey: string;
  try {
    privateKey = readFileSync(dkim.keyFile, 'utf8');
  } catch (err) {
    throw new ConfigError(`NURTURE_DKIM_KEY_FILE: cannot read ${dkim.keyFile}: ${(err as Error).message}`, { cause: err });
  }
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(privateKey)) {
    throw new ConfigError(`NURTURE_DKIM_KEY_FILE: ${dkim.keyFile} is not a PEM private key (-----BEGIN PRIVATE KEY-----)`);
  }
  return { domainName: dkim.domain, keySelector: dkim.selector, privateKey };
}

/** The SMTP sender the settings ask for: in NURTURE_SMTP_THREADS worker threads, or in this thread when 0. */
export function smtpSender(smtpUrl: string, config: Pick<Config, 'smtp' | 'dkim'>, watch: { onTransport?: (seen: TransportObservation) => void; log?: Logger } = {}): MailSender {
  const { threads, ...pool } = config.smtp;
  const options = { onTransport: watch.onTransport, dkim: dkimKeyOf(config.dkim), ...pool };
  if (threads === 0) return createSmtpSender(smtpUrl, options);
  return createThreadedSmtpSender(smtpUrl, {
    ...options,
    threads,
    // Once per thread that dies: each message it held also fails, and is counted, as a transient send error.
    onThreadExit: (t) =>
      watch.log?.error(
        { exitCode: t.exitCode, reason: t.reason, held: t.held },
        !t.started
          ? 'an SMTP thread could not start; nothing was sent, and the next message starts it again'
          : t.closing
            ? 'an SMTP thread stopped while closing; the messages it held are left in doubt and retried later'
            : 'an SMTP thread stopped; the messages it held are retried, and a new thread takes the next',
      ),
  });
}

export function openMailTransport(o: { config: Config; db: Kysely<Database>; log: Logger; probeEveryMs?: number }): MailTransport {
  let monitor: TransportMonitor | undefined;
  const onTransport = (seen: TransportObservation): void => monitor?.observe(seen);
  const mail = o.config.smtpUrl ? smtpSender(o.config.smtpUrl, o.config, { onTransport, log: o.log }) : createOutboxSender(path.join(o.config.dataDir, 'outbox'), { onTransport });
  monitor = new TransportMonitor({ where: mail.describe(), log: o.log, persist: (s) => recordServiceHealth(o.db, MAIL_TRANSPORT, s) });

  let probing: Promise<unknown> | undefined;
  const probe = (): void => {
    if (probing || !mail.probe) return;
    probing = mail
      .probe()
      .catch((err: unknown) => o.log.warn({ err: (err as Error)?.message ?? String(err) }, 'mail transport probe failed'))
      .finally(() => (probing = undefined));
  };
  probe();
  const timer = setInterval(() => {
    if (monitor.state()?.state !== 'up') probe();
  }, o.probeEveryMs ?? PROBE_EVERY_MS);
  timer.unref();

  return {
    mail,
    monitor,
    async close() {
      clearInterval(timer);
      await probing;
      await mail.close();
      await monitor.flush();
    },
  };
}
