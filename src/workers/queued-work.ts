import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BatchJob } from './queues.js';

/**
 * A job carries many wake-ups or sends, so a job id no longer says which work is queued. Beside
 * each queued item lies a marker key naming the job that carries it: the sweeper offers only
 * items whose marker is missing or names a job that is not live (done, failed, or lost with
 * Redis). A marker is one short string, far cheaper than a job per item. Job ids are made here
 * and the markers written before their jobs, so a crash between the two leaves markers naming no
 * job, never a job nobody knows of. A job id carries when it was made: for MARKED_GRACE_MS a
 * marker whose job is not there yet counts as queued (the job is on its way; the sweeper must not
 * queue the item beside it), and after that its items are offered again. A marker is removed when
 * its item is done; its expiry only bounds what a crash leaves behind, and Redis must not evict
 * keys before then (`maxmemory-policy noeviction`, as BullMQ requires).
 */
const MARKER_TTL_MS = 7 * 86_400_000;
export const MARKED_GRACE_MS = 15_000;
const JOB_ID = /^b-(\d+)-/;

// One call per job for all its markers: a burst queues 100,000 items, and a command per marker
// cost the engine's thread (and Redis) far more than the work of setting it.
const MARK = `for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return #KEYS`;

// Per job key, its timestamp and finishedOn, flat: [t1, f1, t2, f2, ...] (false for a missing field).
const JOB_TIMES = `local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'timestamp', 'finishedOn')
  out[2 * i - 1] = v[1]
  out[2 * i] = v[2]
end
return out`;

/** Keys per script call: bounds how long one call holds Redis (a script runs alone). */
const KEYS_PER_CALL = 1_000;

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

// Compare and delete: a marker that now names another job (the item was queued again) stays.
const SETTLE = `local n = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then n = n + redis.call('DEL', key) end
end
return n`;

// The queues run on ioredis (src/workers/redis-connection.ts); BullMQ types its client abstractly.
async function clientOf(queue: Queue): Promise<Redis> {
  return (await queue.client) as unknown as Redis;
}

/** Every marker lives under its queue's keys (and so in its hash slot on a cluster). */
function markerKey(queue: Queue, member: string): string {
  return queue.toKey(`queued:${member}`);
}

function throwIfAnyFailed(replies: [Error | null, unknown][] | null): unknown[] {
  return (replies ?? []).map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
}

export type MarkedJob<P> = BatchJob<P> & { id: string };

/** Gives each job its id and marks what it carries; the jobs are to be added (addMarkedJobs) within MARKED_GRACE_MS. */
export async function markJobs<P>(queue: Queue, jobs: readonly BatchJob<P>[]): Promise<MarkedJob<P>[]> {
  const madeAt = Date.now();
  const marked = jobs.map((j) => ({ ...j, id: `b-${madeAt}-${randomUUID()}` }));
  if (marked.length === 0) return marked;
  const pipe = (await clientOf(queue)).pipeline();
  for (const j of marked) {
    for (const part of chunks(j.members, KEYS_PER_CALL)) pipe.eval(MARK, part.length, ...part.map((m) => markerKey(queue, m)), j.id, MARKER_TTL_MS);
  }
  throwIfAnyFailed(await pipe.exec());
  return marked;
}

/** Adds marked jobs in one round trip. */
export async function addMarkedJobs(queue: Queue, jobs: readonly MarkedJob<unknown>[]): Promise<void> {
  if (jobs.length === 0) return;
  await queue.addBulk(jobs.map((j) => ({ name: j.name, data: j.data, opts: { ...j.opts, jobId: j.id } })));
}

/** Marks what each job carries, then adds the jobs in one round trip. Returns how many items were queued. */
export async function offerJobs(queue: Queue, jobs: readonly BatchJob<unknown>[]): Promise<number> {
  const marked = await markJobs(queue, jobs);
  await addMarkedJobs(queue, marked);
  return marked.reduce((n, j) => n + j.members.length, 0);
}

/** A job is live while BullMQ holds it unfinished, or while it is still on its way (see MARKED_GRACE_MS). */
function isLive(id: string, fields: (string | null)[], graceMs: number): boolean {
  if (fields[0] !== null) return fields[1] === null;
  const made = JOB_ID.exec(id);
  // The wall clock, as when the id was made (an engine clock may be fixed or shifted).
  return made !== null && Date.now() - Number(made[1]) < graceMs;
}

/**
 * Which of these items no live job carries: never queued, done, failed (a failed job is kept for
 * operators, but it runs no more), or lost with Redis. `legacyJobId`: the id a one-item job of an
 * earlier release had for the item, so that what such a release queued is not queued twice.
 */
export async function notQueued(queue: Queue, members: readonly string[], legacyJobId: (member: string) => string, graceMs = MARKED_GRACE_MS): Promise<Set<string>> {
  if (members.length === 0) return new Set();
  const client = await clientOf(queue);
  const named = await client.mget(members.map((m) => markerKey(queue, m)));
  // Per item, the job that may carry it: the one its marker names, or else its old one-item job.
  const candidates = members.map((m, i) => named[i] ?? legacyJobId(m));
  const distinct = [...new Set(candidates)];
  const pipe = client.pipeline();
  const parts = chunks(distinct, KEYS_PER_CALL);
  for (const part of parts) pipe.eval(JOB_TIMES, part.length, ...part.map((id) => queue.toKey(id)));
  // Lua turns a missing field (nil) into false in what the script returns, and Redis sends that as null.
  const flat = (throwIfAnyFailed(await pipe.exec()) as (string | null)[][]).flat();
  const live = new Set(distinct.filter((id, i) => isLive(id, [flat[2 * i] ?? null, flat[2 * i + 1] ?? null], graceMs)));
  return new Set(members.filter((_, i) => !live.has(candidates[i]!)));
}

/** Removes the markers of items job `jobId` is done with (those queued again since stay). */
export async function settleMembers(queue: Queue, jobId: string | undefined, members: readonly string[]): Promise<void> {
  if (jobId === undefined || members.length === 0) return;
  const client = await clientOf(queue);
  await client.eval(SETTLE, members.length, ...members.map((m) => markerKey(queue, m)), jobId);
}
