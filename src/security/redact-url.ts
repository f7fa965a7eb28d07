/** A URL as it may be shown to a person or a log: the password, if any, replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    // Not a URL we can read: say nothing of it rather than risk echoing a secret.
    return '(unreadable URL)';
  }
}
