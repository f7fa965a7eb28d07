import { describe, expect, it } from 'vitest';
import { ItemGate } from '../../src/workers/item-gate.js';
import { sendRoomBeside } from '../../src/workers/work-priority.js';

/** The gate lets at most its capacity of items through, serves waiters in order, and lets an oversized job through alone. */
describe('ItemGate', () => {
  const tick = () => new Promise((r) => setImmediate(r));
  /** Jobs that record when they start and hold their room until released by name. */
  const jobsOn = (gate: ItemGate) => {
    const started: string[] = [];
    const release: Record<string, () => void> = {};
    const job = (name: string, n: number) =>
      gate.with(n, async () => {
        started.push(name);
        await new Promise<void>((r) => (release[name] = r));
      });
    return { started, release, job };
  };

  it('holds a job back until its items fit, in the order jobs came', async () => {
    const { started: order, release, job } = jobsOn(new ItemGate(10));
    const a = job('a', 6);
    const b = job('b', 6); // does not fit beside a
    const c = job('c', 1); // would fit, but waits its turn behind b
    await tick();
    expect(order).toEqual(['a']);
    release.a!();
    await a;
    await tick();
    expect(order).toEqual(['a', 'b', 'c']);
    release.b!();
    release.c!();
    await Promise.all([b, c]);
  });

  it('runs a job larger than the capacity in slices of it', async () => {
    const gate = new ItemGate(3);
    let inFlight = 0;
    let most = 0;
    const out = await gate.each([1, 2, 3, 4, 5, 6, 7], async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(most).toBe(3);
  });

  it('lets a job larger than the capacity through alone', async () => {
    const gate = new ItemGate(4);
    const seen: string[] = [];
    let done!: () => void;
    const big = gate.with(100, async () => {
      seen.push('big');
      await new Promise<void>((r) => (done = r));
    });
    const small = gate.with(1, async () => void seen.push('small'));
    await tick();
    expect(seen).toEqual(['big']);
    done();
    await Promise.all([big, small]);
    expect(seen).toEqual(['big', 'small']);
  });

  it('says it is backed up when every slot is taken or a job waits', async () => {
    const gate = new ItemGate(2);
    expect(gate.backedUp()).toBe(false);
    let done!: () => void;
    const a = gate.with(1, () => new Promise<void>((r) => (done = r)));
    await tick();
    expect(gate.backedUp()).toBe(false);
    let doneB!: () => void;
    const b = gate.with(1, () => new Promise<void>((r) => (doneB = r)));
    await tick();
    expect(gate.backedUp()).toBe(true); // full
    const c = gate.with(1, async () => undefined);
    await tick();
    expect(gate.backedUp()).toBe(true); // c waits
    done();
    doneB();
    await Promise.all([a, b, c]);
    expect(gate.backedUp()).toBe(false);
  });

  it('lets no more through while its room is lowered, and the rest once it is back', async () => {
    let room = 10;
    const { started, release, job } = jobsOn(new ItemGate(10, () => room));
    const a = job('a', 4);
    await tick();
    room = 5; // lowered while a is in flight: a goes on
    const b = job('b', 4); // 4 + 4 > 5: waits
    await tick();
    expect(started).toEqual(['a']);
    release.a!();
    await a;
    await tick();
    expect(started).toEqual(['a', 'b']);
    const c = job('c', 4); // 4 + 4 > 5 still
    await tick();
    expect(started).toEqual(['a', 'b']);
    room = 10;
    const d = job('d', 1); // behind c, in order
    await tick();
    expect(started).toEqual(['a', 'b']);
    release.b!();
    await b;
    await tick();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    release.c!();
    release.d!();
    await Promise.all([c, d]);
  });

  it('lets a job taken for more than the lowered room through alone, rather than stall it', async () => {
    let room = 10;
    const gate = new ItemGate(10, () => room);
    room = 2;
    let ran = false;
    await gate.with(8, async () => void (ran = true));
    expect(ran).toBe(true);
  });

  it('slices a job by the room it has now', async () => {
    const gate = new ItemGate(10, () => 2);
    let inFlight = 0;
    let most = 0;
    const out = await gate.each([1, 2, 3, 4, 5], async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return n;
    });
    expect(out).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });
});

/** Decisions before deliveries: emails keep a quarter of their room while wake-ups are backed up. */
describe('sendRoomBeside', () => {
  it('keeps a quarter of the emails in flight while wake-ups are backed up, and gives it all back after', () => {
    let backedUp = false;
    const room = sendRoomBeside({ backedUp: () => backedUp });
    expect(room(400)).toBe(400);
    backedUp = true;
    expect(room(400)).toBe(100);
    backedUp = false;
    expect(room(400)).toBe(400);
  });

  it('keeps at least one email in flight', () => {
    const room = sendRoomBeside({ backedUp: () => true });
    expect(room(1)).toBe(1);
    expect(room(3)).toBe(1);
    expect(room(10)).toBe(3);
  });
});
