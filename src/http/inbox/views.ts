import type { CompleteTaskResult } from '../../app/complete-task.js';
import type { InboxQueue, InboxQueueItem } from '../../queries/inbox-queue.js';
import type { InboxTaskDetail } from '../../queries/inbox-task.js';
import type { InboxViewer } from '../../queries/inbox-viewer.js';
import { canClaimTask } from '../../queries/inbox-viewer.js';
import { escapeHtml as esc } from '../html-page.js';
import { countdownText } from './countdown.js';

/**
 * The inbox's pages, server-rendered: every value from the store goes through escapeHtml, every
 * form carries the session's CSRF token. The only script is /inbox/assets/inbox.js (countdowns,
 * the live queue); without it every button still works as a plain form post.
 */

function layout(title: string, body: string, o: { viewer?: InboxViewer; csrf?: string; nowMs: number }): string {
  const who =
    o.viewer && o.csrf
      ? `<span class="who">${esc(o.viewer.name)}</span><form method="post" action="/inbox/logout" class="inline">${csrfField(o.csrf)}<button type="submit" class="link">Log out</button></form>`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)} · Nurture inbox</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/inbox/assets/inbox.css">
</head>
<body data-now="${o.nowMs}">
<header><a href="/inbox" class="brand">Nurture inbox</a><nav>${who}</nav></header>
<main>
${body}
</main>
<script src="/inbox/assets/inbox.js"></script>
</body>
</html>
`;
}

const csrfField = (token: string) => `<input type="hidden" name="_csrf" value="${esc(token)}">`;
const time = (isoText: string) => `<time datetime="${esc(isoText)}">${esc(isoText.slice(0, 16).replace('T', ' '))} UTC</time>`;

export function loginPage(o: { csrf: string; email?: string; error?: string; nowMs: number }): string {
  const error = o.error ? `<p class="error" role="alert">${esc(o.error)}</p>` : '';
  return layout(
    'Log in',
    `<section class="card narrow">
<h1>Log in</h1>
${error}
<form method="post" action="/inbox/login" class="stack">
${csrfField(o.csrf)}
<label>Email <input type="email" name="email" autocomplete="username" required value="${esc(o.email ?? '')}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit" class="primary">Log in</button>
</form>
</section>`,
    { nowMs: o.nowMs },
  );
}

export function messagePage(o: { title: string; message: string; nowMs: number; viewer?: InboxViewer; csrf?: string }): string {
  return layout(o.title, `<section class="card narrow"><h1>${esc(o.title)}</h1><p>${esc(o.message)}</p><p><a href="/inbox">Back to the inbox</a></p></section>`, o);
}

function countdown(deadline: string | null, nowMs: number): string {
  if (deadline === null) return '';
  const ms = Date.parse(deadline) - nowMs;
  return `<span class="countdown${ms < 0 ? ' late' : ''}" data-deadline="${esc(deadline)}" title="speed-to-lead deadline">${esc(countdownText(ms))}</span>`;
}

/** A lead call: a call with a speed-to-lead deadline; its countdown ticks. */
const isLeadCall = (t: { kind: string; slaDueAt: string | null }) => t.kind === 'call' && t.slaDueAt !== null;

function queueItem(t: InboxQueueItem, csrf: string, nowMs: number): string {
  const claim = t.claimable
    ? `<form method="post" action="/inbox/tasks/${t.id}/claim" class="inline">${csrfField(csrf)}<button type="submit" class="claim">Claim</button></form>`
    : '';
  const where = t.assignee ? 'yours' : `${t.team ?? ''} queue`;
  return `<li class="task${t.priority === 'high' ? ' high' : ''}" data-task-id="${t.id}">
<a href="/inbox/tasks/${t.id}" class="open"><span class="kind kind-${esc(t.kind)}">${esc(t.kind)}</span> <strong>${esc(t.contact.name ?? t.contact.email)}</strong> <span class="title">${esc(t.title)}</span></a>
<span class="meta">${isLeadCall(t) ? countdown(t.slaDueAt, nowMs) : `due ${time(t.dueAt)}`} · <span class="where">${esc(where)}</span></span>
${claim}
</li>`;
}

/** The list's items alone: the page's script swaps them in when the event stream says a task arrived. */
export function queueItems(items: readonly InboxQueueItem[], csrf: string, nowMs: number): string {
  if (items.length === 0) return '<li class="empty">Nothing waiting. New tasks appear here by themselves.</li>';
  return items.map((t) => queueItem(t, csrf, nowMs)).join('\n');
}

export function queuePage(o: { viewer: InboxViewer; csrf: string; queue: InboxQueue; nowMs: number }): string {
  const teams = o.viewer.teams.length > 0 ? ` and the ${o.viewer.teams.map(esc).join(', ')} queue${o.viewer.teams.length > 1 ? 's' : ''}` : '';
  return layout(
    'Queue',
    `<section>
<h1>Your tasks${teams}</h1>
<p class="hint">Soonest deadline first. <span id="live" class="live" hidden>live</span></p>
<ul id="queue" class="queue" data-after="${o.queue.lastTaskId}">
${queueItems(o.queue.items, o.csrf, o.nowMs)}
</ul>
</section>`,
    o,
  );
}

function phoneLink(phone: string | null, bad: boolean): string {
  if (!phone) return '<span class="muted">no phone</span>';
  const digits = phone.replace(/[^0-9+]/g, '');
  return `<a href="tel:${esc(digits)}" class="tel">${esc(phone)}</a>${bad ? ' <span class="bad">marked wrong number</span>' : ''}`;
}

function addressBlock(address: Record<string, unknown> | null, bad: boolean): string {
  if (!address) return '<span class="muted">no address</span>';
  const lines = ['line1', 'line2', 'city', 'region', 'postalCode', 'postal_code', 'country']
    .map((k) => address[k])
    .filter((v): v is string => typeof v === 'string' && v.trim() !== '');
  const text = lines.length > 0 ? lines : Object.values(address).filter((v): v is string => typeof v === 'string');
  return `<address>${text.map(esc).join('<br>')}</address>${bad ? '<span class="bad">mail came back from this address</span>' : ''}`;
}

function list<T>(title: string, rows: readonly T[], row: (r: T) => string, empty: string): string {
  return `<section class="card"><h2>${esc(title)}</h2>${rows.length === 0 ? `<p class="muted">${esc(empty)}</p>` : `<ul class="plain">${rows.map((r) => `<li>${row(r)}</li>`).join('')}</ul>`}</section>`;
}

export interface TaskPageData {
  viewer: InboxViewer;
  csrf: string;
  task: InboxTaskDetail;
  outcomes: readonly string[];
  /** Just recorded (after the redirect): what it did. */
  recorded?: { outcome: string; result?: CompleteTaskResult } | undefined;
  nowMs: number;
}

export function taskPage(d: TaskPageData): string {
  const t = d.task;
  const c = t.contact;
  const open = t.status === 'open';
  const claimable = open && canClaimTask(d.viewer, t);
  const claim = claimable ? `<form method="post" action="/inbox/tasks/${t.id}/claim">${csrfField(d.csrf)}<button type="submit" class="claim">Claim</button></form>` : '';
  const outcomes = open
    ? `<form method="post" action="/inbox/tasks/${t.id}/outcome" class="outcomes">${csrfField(d.csrf)}
${d.outcomes.map((o) => `<button type="submit" name="outcome" value="${esc(o)}" class="outcome${o === 'appointment_booked' || o === 'connected' || o === 'sent' ? ' primary' : ''}">${esc(o.replace(/_/g, ' '))}</button>`).join('\n')}
</form>`
    : `<p class="done">Done: <strong data-outcome="${esc(t.outcome ?? '')}">${esc((t.outcome ?? t.status).replace(/_/g, ' '))}</strong>${t.completedAt ? ` at ${time(t.completedAt)}` : ''}</p>`;
  const recorded = d.recorded ? `<p class="flash" role="status">Recorded <strong>${esc(d.recorded.outcome.replace(/_/g, ' '))}</strong>. ${esc(c.name ?? c.email)} is now <strong>${esc(c.stage)}</strong>.</p>` : '';
  return layout(
    t.title,
    `${recorded}
<section class="card task-head">
<p class="crumbs"><a href="/inbox">← Queue</a></p>
<h1><span class="kind kind-${esc(t.kind)}">${esc(t.kind)}</span> ${esc(t.title)}</h1>
<p class="meta">${isLeadCall(t) && open ? `${countdown(t.slaDueAt, d.nowMs)} · ` : ''}due ${time(t.dueAt)} · ${esc(t.priority)} priority · ${t.assignee ? `held by ${esc(t.assignee)}` : `in the ${esc(t.team ?? '')} queue`}</p>
${t.note ? `<p class="note">${esc(t.note)}</p>` : ''}
${claim}
${outcomes}
</section>
<section class="card contact">
<h2>${esc(c.name ?? c.email)} <span class="stage" data-stage="${esc(c.stage)}">${esc(c.stage)}</span></h2>
<dl>
<dt>Email</dt><dd><a href="mailto:${esc(c.email)}">${esc(c.email)}</a></dd>
<dt>Phone</dt><dd>${phoneLink(c.phone, c.phoneBad)}</dd>
<dt>Address</dt><dd>${addressBlock(c.address, c.addressBad)}</dd>
${c.timezone ? `<dt>Time zone</dt><dd>${esc(c.timezone)}</dd>` : ''}
</dl>
</section>
<div class="columns">
${list('Recent touches', t.touches, (r) => `${esc(r.kind)} <strong>${esc(r.subject ?? '')}</strong> <span class="muted">${esc(r.status)} · ${time(r.at)}</span>`, 'nothing sent yet')}
${list('Opens and clicks', t.engagement, (r) => `${esc(r.type === 'email_opened' ? 'opened' : 'clicked')}${r.url ? ` <span class="url">${esc(r.url)}</span>` : ''} <span class="muted">${time(r.at)}</span>`, 'no opens or clicks')}
${list('History', t.events, (r) => `${esc(r.type)} <span class="muted">${time(r.at)}</span>`, 'no events')}
${list('Notes and activity', t.activity, (r) => `${esc(r.action)} by ${esc(r.actor)}${r.reason ? `: ${esc(r.reason)}` : ''} <span class="muted">${time(r.at)}</span>`, 'nothing recorded yet')}
</div>`,
    d,
  );
}
