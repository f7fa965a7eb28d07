/**
 * Click and open tracking put into a rendered HTML body. Pure: how a link is signed comes in as
 * functions, so the HTML stays byte for byte what the template made except for the tracked hrefs
 * and the pixel.
 */

export interface TrackingOptions {
  /** The tracked URL for the `index`th link (0-based, in document order) to `target`; undefined leaves the link as it is. */
  click?: ((target: string, index: number) => string | undefined) | undefined;
  /** The address of the open pixel. */
  openPixel?: string | undefined;
  /** Targets never rewritten (the unsubscribe and preferences links: they must work without a redirect). */
  keep?: ReadonlySet<string> | undefined;
}

const ANCHOR_HREF = /(<a\b[^>]*?\bhref\s*=\s*)("([^"]*)"|'([^']*)')/gi;

/**
 * Rewrites every `http(s)` link of `<a href>` (but those in `keep`, and those with a
 * `data-nurture-track="off"` attribute) and puts the open pixel before `</body>` (or at the end).
 */
export function addTracking(html: string, o: TrackingOptions): string {
  let out = html;
  if (o.click) {
    const click = o.click;
    let index = 0;
    out = out.replace(ANCHOR_HREF, (whole: string, start: string, _quoted: string, dq: string | undefined, sq: string | undefined, offset: number) => {
      const raw = dq ?? sq ?? '';
      const target = decodeEntities(raw).trim();
      if (!/^https?:\/\//i.test(target) || o.keep?.has(target)) return whole;
      const tagEnd = out.indexOf('>', offset);
      const tag = out.slice(offset, tagEnd === -1 ? undefined : tagEnd);
      if (/\bdata-nurture-track\s*=\s*["']?off\b/i.test(tag)) return whole;
      const tracked = click(target, index++);
      return tracked === undefined ? whole : `${start}"${escapeAttribute(tracked)}"`;
    });
  }
  if (o.openPixel) {
    const pixel = `<img src="${escapeAttribute(o.openPixel)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
    const close = out.search(/<\/body\s*>/i);
    out = close === -1 ? out + pixel : out.slice(0, close) + pixel + out.slice(close);
  }
  return out;
}

/** The links of an HTML body as `addTracking` sees them, in order (for tests and `nurture render`). */
export function linkTargets(html: string): string[] {
  return [...html.matchAll(ANCHOR_HREF)].map((m) => decodeEntities(m[3] ?? m[4] ?? '').trim());
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Handlebars escapes `=` and `'` in hrefs (`&#x3D;`): the target is the decoded text. */
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, code: string) => {
    if (code[0] === '#') {
      const n = code[1] === 'x' || code[1] === 'X' ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10);
      return Number.isFinite(n) && n <= 0x10ffff ? String.fromCodePoint(n) : whole;
    }
    return NAMED[code.toLowerCase()] ?? whole;
  });
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
