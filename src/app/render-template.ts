import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DateTime } from 'luxon';
import type { Config } from '../config.js';
import { TemplateError } from '../errors.js';
import type { FileProblem } from '../errors.js';
import { contactOf, sampleContact } from '../queries/sequence-preview.js';
import type { Contact } from '../sequences/contact.js';
import { checkTemplateVariables } from '../templates/check-variables.js';
import { compileTemplate } from '../templates/compile.js';
import type { RenderedMessage } from '../templates/compile.js';
import type { MailSender, SendResult } from '../templates/mail-sender.js';
import { createOutboxSender } from '../templates/outbox-sender.js';
import { renderContext } from '../templates/render-context.js';
import { createSmtpSender } from '../templates/smtp-sender.js';
import { loadTemplate } from '../templates/template-files.js';
import { messageIdDomain } from '../templates/message-id.js';

/**
 * `nurture render` and `nurture send-test`: one template, rendered for one contact (a JSON
 * file, or a sample contact) outside any sequence. No database or Redis. The links are
 * placeholders under NURTURE_PUBLIC_URL (`.../u/test`), not signed ones, and links are not
 * rewritten for tracking: there is no touch to tie a click to.
 */
export interface RenderTemplateInput {
  templatesDir: string;
  name: string;
  /** Parsed JSON of the contact (the shape of an event's `contact`); default: a sample contact. */
  contact?: unknown;
  /** How the contact is named in problems (its file). */
  contactName?: string | undefined;
  config: Pick<Config, 'from' | 'defaultZone'> & { http: Pick<Config['http'], 'publicUrl'> };
  now: DateTime;
}

export interface RenderedTemplate {
  template: string;
  to: string;
  message: RenderedMessage;
  /** Warnings `nurture validate` gives about the template (errors are thrown as a TemplateError). */
  problems: FileProblem[];
}

export async function renderTemplate(input: RenderTemplateInput): Promise<RenderedTemplate> {
  const src = await loadTemplate(input.templatesDir, input.name);
  const problems = checkTemplateVariables(src, { requireSubject: true });
  // What `nurture validate` refuses would render wrong (or not at all) for some contact: say so instead.
  if (problems.some((p) => p.severity === 'error')) throw new TemplateError(problems);
  const contact: Contact = input.contact === undefined ? sampleContact(input.config.defaultZone) : contactOf(input.contact, input.contactName ?? 'contact');
  const base = input.config.http.publicUrl;
  const message = compileTemplate(src).render(
    renderContext({
      contact,
      links: { unsubscribe: `${base}/u/test`, preferences: `${base}/p/test`, view: `${base}/v/test` },
      touch: { id: 'test', stepId: 'test', template: src.name },
      sequence: null,
      from: input.config.from,
      now: input.now,
      defaultZone: input.config.defaultZone,
    }),
  );
  return { template: src.name, to: contact.email, message, problems };
}

export interface SendTestInput extends RenderTemplateInput {
  to: string;
  config: RenderTemplateInput['config'] & Pick<Config, 'smtpUrl' | 'dataDir'>;
  /** The transport; default: SMTP_URL, else the outbox folder in the data directory. */
  mail?: MailSender;
}

/** Renders the template and sends it to `to` through the configured transport. */
export async function sendTestMessage(input: SendTestInput): Promise<RenderedTemplate & { sent: SendResult; via: string }> {
  const rendered = await renderTemplate(input);
  const mail = input.mail ?? (input.config.smtpUrl ? createSmtpSender(input.config.smtpUrl) : createOutboxSender(path.join(input.config.dataDir, 'outbox')));
  try {
    const domain = messageIdDomain(input.config.from);
    const sent = await mail.send({
      from: input.config.from,
      to: input.to,
      subject: rendered.message.subject,
      html: rendered.message.html,
      text: rendered.message.text,
      messageId: `test-${randomUUID()}@${domain}`,
    });
    return { ...rendered, sent, via: mail.describe() };
  } finally {
    if (!input.mail) await mail.close();
  }
}
