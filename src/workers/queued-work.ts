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
 * job (the items are offered again), never a job nobody knows of. A marker is removed when its
 * item is done; its expiry only bounds what a crash leaves behind, and Redis must not evict keys
 * before then (`maxmemory-policy noeviction`, as BullMQ requires).
 */
const MARKER_TTL_MS = 7 * 86_400_000;

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

/** Marks what each job carries, then adds the jobs in one round trip. Returns how many items were queued. */
export async function offerJobs(queue: Queue, jobs: readonly BatchJob<unknown>[]): Promise<number> {
  if (jobs.length === 0) return 0;
  const withIds = jobs.map((j) => ({ ...j, id: `b-${randomUUID()}` }));
  const pipe = (await clientOf(queue)).pipeline();
  for (const j of withIds) for (const m of j.members) pipe.set(markerKey(queue, m), j.id, 'PX', MARKER_TTL_MS);
  throwIfAnyFailed(await pipe.exec());
  await queue.addBulk(withIds.map((j) => ({ name: j.name, data: j.data, opts: { ...j.opts, jobId: j.id } })));
  return withIds.reduce((n, j) => n + j.members.length, 0);
}

/**
 * Which of these items no live job carries: never queued, done, failed (a failed job is kept for
 * operators, but it runs no more), or lost with Redis. `legacyJobId`: the id a one-item job of an
 * earlier release had for the item, so that what such a release queued is not queued twice.
 */
export async function notQueued(queue: Queue, members: readonly string[], legacyJobId: (member: string) => string): Promise<Set<string>> {
  if (members.length === 0) return new Set();
  const client = await clientOf(queue);
  const named = await client.mget(members.map((m) => markerKey(queue, m)));
  // Per item, the job that may carry it: the one its marker names, or else its old one-item job.
  const candidates = members.map((m, i) => named[i] ?? legacyJobId(m));
  const distinct = [...new Set(candidates)];
  const pipe = client.pipeline();
  for (const id of distinct) pipe.hmget(queue.toKey(id), 'timestamp', 'finishedOn');
  const replies = throwIfAnyFailed(await pipe.exec()) as (string | null)[][];
  const live = new Set(distinct.filter((_, i) => replies[i]![0] !== null && replies[i]![1] === null));
  return new Set(members.filter((_, i) => !live.has(candidates[i]!)));
}

/** Removes the markers of items job `jobId` is done with (those queued again since stay). */
export async function settleMembers(queue: Queue, jobId: string | undefined, members: readonly string[]): Promise<void> {
  if (jobId === undefined || members.length === 0) return;
  const client = await clientOf(queue);
  await client.eval(SETTLE, members.length, ...members.map((m) => markerKey(queue, m)), jobId);
}
