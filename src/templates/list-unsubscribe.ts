/**
 * The unsubscribe headers of a nurture email (RFC 2369 List-Unsubscribe, RFC 8058 one-click):
 * mail clients show an "Unsubscribe" button that POSTs `List-Unsubscribe=One-Click` to the
 * https URL, and fall back to the mailto: address. Pure.
 */
export function listUnsubscribeHeaders(unsubscribeUrl: string, mailto: string): Record<string, string> {
  const token = unsubscribeUrl.slice(unsubscribeUrl.lastIndexOf('/') + 1);
  // The subject carries the token, so a mailed request names the touch it came from like the URL does.
  const mailtoUri = `mailto:${mailto}?subject=${encodeURIComponent(`unsubscribe ${token}`)}`;
  return {
    'List-Unsubscribe': `<${unsubscribeUrl}>, <${mailtoUri}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

/** The token in the subject of a mailed unsubscribe request (`unsubscribe TOKEN`, any "Re:" before it). */
export function unsubscribeTokenOfSubject(subject: string): string | undefined {
  return /\bunsubscribe\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$/i.exec(subject)?.[1];
}
