/** "4:05 left", "1:02:03 left", "0:30 over": the SLA countdown, as the page first shows it and as its script ticks it. */
export function countdownText(ms: number): string {
  const over = ms < 0;
  const s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  const clock = h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
  return over ? `${clock} over` : `${clock} left`;
}
