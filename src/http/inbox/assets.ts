/**
 * The inbox's script and style, served from /inbox/assets/. Plain JavaScript rather than htmx:
 * the page needs two behaviours (tick the SLA countdowns, swap the queue in when the event
 * stream says a task arrived), about forty lines with EventSource and fetch, no dependency to
 * vendor or keep patched, and a CSP of script-src 'self' with no inline handlers. Every action
 * stays a plain form post, so the inbox works with the script blocked too.
 */
export const INBOX_SCRIPT = `(() => {
  'use strict';
  // The server's clock, as the page was rendered: countdowns agree with the server, not the phone.
  const skew = Number(document.body.dataset.now) - Date.now();
  const text = (ms) => {
    const s = Math.floor(Math.abs(ms) / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return (h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss) + (ms < 0 ? ' over' : ' left');
  };
  const tick = () => {
    for (const el of document.querySelectorAll('[data-deadline]')) {
      const ms = Date.parse(el.dataset.deadline) - (Date.now() + skew);
      el.textContent = text(ms);
      el.classList.toggle('late', ms < 0);
    }
  };
  tick();
  setInterval(tick, 1000);

  const queue = document.getElementById('queue');
  if (!queue || !window.EventSource) return;
  const live = document.getElementById('live');
  const stream = new EventSource('/inbox/events?after=' + encodeURIComponent(queue.dataset.after || '0'));
  let busy = false, again = false;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const res = await fetch('/inbox/queue-items', { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (res.ok) { queue.innerHTML = await res.text(); tick(); }
    } finally {
      busy = false;
      if (again) { again = false; void refresh(); }
    }
  };
  stream.addEventListener('open', () => { if (live) live.hidden = false; });
  stream.addEventListener('error', () => { if (live) live.hidden = true; });
  stream.addEventListener('task', (e) => {
    document.body.dataset.lastTask = JSON.parse(e.data).id;
    void refresh();
  });
})();
`;

export const INBOX_STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2733;background:#f3f5f8}
header{display:flex;justify-content:space-between;align-items:center;gap:12px;background:#1d3557;color:#fff;padding:10px 16px}
header a.brand{color:#fff;font-weight:700;text-decoration:none}
header nav{display:flex;gap:12px;align-items:center}
header .link{background:none;border:0;color:#cfe0f5;text-decoration:underline;cursor:pointer;font:inherit;padding:0}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.35rem;margin:.2rem 0 .6rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
a{color:#1d4f91}
.card{background:#fff;border-radius:8px;padding:14px 16px;margin:0 0 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.narrow{max-width:26rem;margin:8vh auto}
.stack{display:flex;flex-direction:column;gap:12px}
.stack label{display:flex;flex-direction:column;gap:4px;font-weight:600}
input{font:inherit;padding:10px;border:1px solid #b9c3cf;border-radius:6px}
button{font:inherit;min-height:44px;padding:8px 14px;border-radius:6px;border:1px solid #9fb0c4;background:#fff;cursor:pointer}
button.primary{background:#1d4f91;border-color:#1d4f91;color:#fff}
button.claim{background:#2a9d8f;border-color:#2a9d8f;color:#fff}
.inline{display:inline}
.error{color:#b00020;font-weight:600}
.flash{background:#e6f4ea;border:1px solid #9fd3ad;border-radius:8px;padding:10px 14px}
.hint,.muted{color:#5b6b7d}
.queue{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}
.queue li.task{display:grid;grid-template-columns:1fr auto;gap:4px 12px;align-items:center;background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08);border-left:5px solid #9fb0c4}
.queue li.task.high{border-left-color:#e63946}
.queue li.task a.open{text-decoration:none;color:inherit;grid-column:1}
.queue li.task .meta{grid-column:1;font-size:.9rem;color:#5b6b7d}
.queue li.task form{grid-column:2;grid-row:1/3}
.queue li.empty{color:#5b6b7d;padding:20px;text-align:center}
.kind{display:inline-block;font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;padding:1px 6px;border-radius:4px;background:#e3e8ef;color:#334}
.kind-call{background:#fde2e4;color:#9d0208}
.countdown{font-variant-numeric:tabular-nums;font-weight:700;color:#1d6b3a}
.countdown.late{color:#b00020}
.live{font-size:.8rem;background:#2a9d8f;color:#fff;border-radius:10px;padding:1px 8px}
.stage{font-size:.8rem;background:#1d3557;color:#fff;border-radius:10px;padding:2px 10px;vertical-align:middle}
.stage[data-stage="lead"],.stage[data-stage="customer"]{background:#2a9d8f}
.outcomes{display:flex;flex-wrap:wrap;gap:8px;margin-top:10px}
.outcomes button{flex:1 1 10rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 14px;margin:0}
dt{font-weight:600;color:#5b6b7d}
dd{margin:0}
address{font-style:normal}
a.tel{font-size:1.2rem;font-weight:700}
.bad{color:#b00020;font-size:.85rem;margin-left:6px}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px}
.columns .card{margin:0}
ul.plain{list-style:none;margin:0;padding:0}
ul.plain li{padding:5px 0;border-bottom:1px solid #eef1f5;font-size:.92rem}
.url{word-break:break-all}
@media (max-width:600px){
  main{padding:10px}
  .queue li.task{grid-template-columns:1fr}
  .queue li.task form{grid-column:1;grid-row:auto}
  .queue li.task form button{width:100%}
  .outcomes button{flex:1 1 45%}
  dl{grid-template-columns:1fr}
  dt{margin-top:6px}
}
`;
