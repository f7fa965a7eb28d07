import { LineCounter, isNode, parseDocument } from 'yaml';
import type { FileProblem } from '../errors.js';

/** A YAML document's value, and the line of any path in it (for messages that name the line). */
export type YamlDocument =
  | { ok: true; value: unknown; lineOf: (path: readonly PropertyKey[]) => number | undefined }
  | { ok: false; problems: FileProblem[] };

export function parseYamlDocument(text: string, file: string): YamlDocument {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        path: '',
        line: e.linePos?.[0]?.line,
        message: `not valid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        severity: 'error' as const,
      })),
    };
  }
  const lineOf = (p: readonly PropertyKey[]): number | undefined => {
    // A missing field has no node: report the line of the nearest parent that exists.
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { ok: true, value: doc.toJS(), lineOf };
}
