import type { ItemGate } from './item-gate.js';

/**
 * Decisions before deliveries. While a process's wake-ups are backed up (a cohort due at one
 * instant), its emails keep a quarter of their room in flight: wake-ups decide what each contact gets
 * next (a call task, a promotion, a skipped email, a wait) and share the one engine thread and
 * the machine's cores with sends, and an email already recorded loses nothing by waiting a few
 * seconds more. Delivery does not stop: a quarter of the room still sends, and all of it once the
 * wake-ups have caught up. Figures in the README (Bursts).
 */
export function sendRoomBeside(wakes: Pick<ItemGate, 'backedUp'>): (sends: number) => number {
  // A quarter, not a half: in the 100,000 burst, 17.2-17.4 s to record every touch against
  // 19.4-20.1 s, with delivery as soon (2026-12-06).
  return (sends) => (wakes.backedUp() ? Math.max(1, Math.ceil(sends / 4)) : sends);
}
