import { escapeHtml } from '../html-page.js';
import type { SubscriptionPreferences } from '../../queries/subscription-preferences.js';

/**
 * The pages a person reaches from a link in our mail: confirm an unsubscribe, see that it is
 * done, choose topics. Server-rendered, no script, no third-party resources. Pure: data in, HTML
 * out. Forms post back to the URL they came from: its signed token is what authorises the
 * change (there is no session, hence no cookie a forged cross-site post could ride on).
 */


function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1rem}fieldset{border:1px solid #ccc;margin:1rem 0}label{display:block;margin:.4rem 0}.note{color:#555}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

/** GET /u/TOKEN: asks; never unsubscribes by itself (link scanners follow every GET). */
export function confirmUnsubscribePage(preferencesUrl: string): string {
  return page(
    'Unsubscribe',
    `<p>Stop receiving these emails?</p>
<form method="post"><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>
<p class="note">Or <a href="${escapeHtml(preferencesUrl)}">choose which emails you get</a>.</p>`,
  );
}

export function unsubscribedPage(email: string | undefined, preferencesUrl: string): string {
  const who = email ? ` <strong>${escapeHtml(email)}</strong>` : '';
  return page(
    'You are unsubscribed',
    `<p>We will not send${who} any more of these emails.</p>
<p class="note">Changed your mind? <a href="${escapeHtml(preferencesUrl)}">Your email preferences</a>.</p>`,
  );
}

export function invalidLinkPage(): string {
  return page('This link does not work', '<p>The link is incomplete or was changed. Please use the link from the email exactly as it came.</p>');
}

export function messageGonePage(): string {
  return page('This email is not available', '<p>This email was not sent, or is no longer kept.</p>');
}

export function unknownContactPage(): string {
  return page('Not on our list', '<p>This address is not on our mailing list any more: we will not email it.</p>');
}

/** GET /p/TOKEN (and the answer to its POST, with `notice`). */
export function preferencesPage(p: SubscriptionPreferences, notice?: string): string {
  const banner = notice ? `<p role="status"><strong>${escapeHtml(notice)}</strong></p>` : '';
  const blocked =
    p.blocked.length > 0
      ? `<p class="note">We cannot email this address at the moment (${escapeHtml(p.blocked.map((r) => r.replace('_', ' ')).join(', '))}).</p>`
      : '';
  const topics =
    p.topics.length === 0
      ? ''
      : `<form method="post"><input type="hidden" name="action" value="save"><fieldset><legend>Emails about</legend>
${p.topics
  .map(
    (t) =>
      `<label><input type="checkbox" name="topics" value="${escapeHtml(t.id)}"${t.subscribed ? ' checked' : ''}> ${escapeHtml(t.name)}${t.description ? ` <span class="note">${escapeHtml(t.description)}</span>` : ''}</label>`,
  )
  .join('\n')}
</fieldset><button type="submit">Save</button></form>`;
  const all = p.unsubscribed
    ? `<p>You are unsubscribed from all our emails.</p><form method="post"><input type="hidden" name="action" value="resubscribe"><button type="submit">Subscribe again</button></form>`
    : `<form method="post"><input type="hidden" name="action" value="unsubscribe"><button type="submit">Unsubscribe from everything</button></form>`;
  return page('Email preferences', `${banner}<p>For <strong>${escapeHtml(p.email)}</strong>.</p>${blocked}${p.unsubscribed ? '' : topics}${all}`);
}
