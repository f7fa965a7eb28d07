/** The small pages people see after a form post or a confirmation click: no script, no outside assets. */

import { escapeHtml } from '../templates/escape-html.js';

export { escapeHtml };

export interface PageContent {
  title: string;
  message: string;
  /** A button that POSTs to `action` (a confirmation: a GET never confirms). */
  button?: { action: string; label: string } | undefined;
}

export function htmlPage(p: PageContent): string {
  const button = p.button
    ? `<form method="post" action="${escapeHtml(p.button.action)}"><button type="submit">${escapeHtml(p.button.label)}</button></form>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(p.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1.1rem;padding:.6rem 1.4rem;cursor:pointer}</style>
</head><body><h1>${escapeHtml(p.title)}</h1><p>${escapeHtml(p.message)}</p>${button}</body></html>
`;
}
