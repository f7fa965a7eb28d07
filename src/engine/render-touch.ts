import type { Kysely } from 'kysely';
import type { DateTime } from 'luxon';
import type { Database } from '../db/schema.js';
import type { TouchRow } from '../db/touch-repository.js';
import { clickUrl, openPixelUrl } from '../security/tracking-links.js';
import type { Contact } from '../sequences/contact.js';
import type { StandardLinks } from '../security/message-links.js';
import type { CompiledTemplate, RenderedMessage } from '../templates/compile.js';
import { renderContext } from '../templates/render-context.js';
import { addTracking } from '../templates/track-links.js';
import type { EngineDeps } from './engine-deps.js';
import { touchSubject } from '../security/message-links.js';

/**
 * An email touch rendered as it goes out: the template with the full context (contact, sender,
 * the touch's signed links, the touch, its sequence) and, unless turned off for the sequence or
 * everywhere, its links rewritten to tracked redirects and the open pixel added. `links`: the
 * touch's standard links, for the message's headers (signed once, whoever reads them first).
 */
export async function renderTouch(
  deps: Pick<EngineDeps, 'registry' | 'links' | 'config'>,
  tx: Kysely<Database>,
  template: CompiledTemplate,
  at: {
    contact: Contact;
    touch: Pick<TouchRow, 'id' | 'contact_id' | 'step_id' | 'template' | 'sequence_id'>;
    version: string | undefined;
    now: DateTime;
    /** Variables of one kind of message (a confirmation's `confirmUrl`), beside the standard context. */
    extra?: Readonly<Record<string, unknown>> | undefined;
    /** false: no tracked links nor pixel whatever the settings (a confirmation email). */
    tracking?: boolean;
  },
): Promise<RenderedMessage & { links: StandardLinks }> {
  const { touch } = at;
  const program = touch.sequence_id && at.version ? await deps.registry.version(touch.sequence_id, at.version, tx) : undefined;
  const definition = program?.definition;
  const signed = deps.links.lazy(touchSubject(touch));
  const links = signed.links;
  const rendered = template.render({
    ...renderContext({
      contact: at.contact,
      links,
      touch: { id: touch.id, stepId: touch.step_id, template: touch.template ?? template.name },
      sequence: touch.sequence_id ? { id: touch.sequence_id, name: definition?.name, timezone: definition?.timezone } : null,
      from: deps.config.from,
      now: at.now,
      defaultZone: deps.config.defaultZone,
    }),
    ...at.extra,
  });
  const clicks = at.tracking !== false && deps.config.tracking.clicks && definition?.tracking?.clicks !== false;
  const opens = at.tracking !== false && deps.config.tracking.opens && definition?.tracking?.opens !== false;
  if (!clicks && !opens) return { ...rendered, links };
  const html = addTracking(rendered.html, {
    click: clicks ? (url, index) => clickUrl(deps.links, { touchId: touch.id, index, url }) : undefined,
    openPixel: opens ? openPixelUrl(deps.links, touch.id) : undefined,
    // Unsubscribing, managing preferences and viewing in the browser work without a redirect (and are not engagement).
    // A link the template did not read is not in the message.
    keep: new Set(signed.made()),
  });
  return { ...rendered, html, links };
}
