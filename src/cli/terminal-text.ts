/**
 * Everything the CLI prints passes through here: contact names, event data and error messages
 * come from outside, and a name holding ANSI escapes must not clear or rewrite the operator's
 * screen. Control characters (C0 but newline and tab, DEL, C1) and the bidirectional overrides
 * that reorder what a line appears to say are shown as visible `\u001b`-style escapes, so
 * nothing is hidden and nothing is lost.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escape);
}

/**
 * JSON.stringify escapes C0 controls but not DEL, C1 or the bidi marks; those become `\uXXXX`
 * escapes, which is the same JSON value, so a pipe into jq still sees the original string.
 */
export function jsonSafe(json: string): string {
  return json.replace(UNSAFE, escape);
}
