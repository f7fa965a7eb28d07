import type { ItemGate } from './item-gate.js';

/**
 * Decisions before deliveries. While a process's wake-ups are backed up (a cohort due at one
 * instant), its emails keep half their room in flight: wake-ups decide what each contact gets
 * next (a call task, a promotion, a skipped email, a wait) and share the one engine thread and
 * the machine's cores with sends, and an email already recorded loses nothing by waiting a few
 * seconds more. Delivery does not stop: half the room still sends, and all of it once the
 * wake-ups have caught up. Figures in the README (Bursts).
 */
export function sendRoomBeside(wakes: Pick<ItemGate, 'backedUp'>, sends: number): () => number {
  const half = Math.max(1, Math.ceil(sends / 2));
  return () => (wakes.backedUp() ? half : sends);
}
