import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BatchJob } from './queues.js';

/**
 * A job carries many wake-ups or sends, so a job id no longer says which work is queued. Beside
 * each queued item lies a marker key naming the job that carries it: the sweeper offers only
 * items whose marker is missing or names a job that is gone (done, failed for good, or lost with
 * Redis). A marker is one short string, far cheaper than a job per item. It is written after its
 * job (a crash between the two queues the item again: harmless, a wake-up or send run twice is
 * a no-op) and removed when its item is done; its expiry only bounds what a crash leaves behind.
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

/** Adds the jobs in one round trip and marks what each carries. Returns how many items were queued. */
export async function offerJobs(queue: Queue, jobs: readonly BatchJob<unknown>[]): Promise<number> {
  if (jobs.length === 0) return 0;
  const added = await queue.addBulk(jobs.map((j) => ({ name: j.name, data: j.data, opts: j.opts })));
  const pipe = (await clientOf(queue)).pipeline();
  let items = 0;
  jobs.forEach((j, i) => {
    const id = added[i]?.id;
    items += j.members.length;
    if (id === undefined) return;
    for (const m of j.members) pipe.set(markerKey(queue, m), id, 'PX', MARKER_TTL_MS);
  });
  await pipe.exec();
  return items;
}

/** Which of these items no live job carries: never queued, done, failed for good, or lost with Redis. */
export async function notQueued(queue: Queue, members: readonly string[]): Promise<Set<string>> {
  if (members.length === 0) return new Set();
  const client = await clientOf(queue);
  const jobIds = await client.mget(members.map((m) => markerKey(queue, m)));
  const named = [...new Set(jobIds.filter((id): id is string => id !== null))];
  const live = new Set<string>();
  if (named.length > 0) {
    const pipe = client.pipeline();
    for (const id of named) pipe.exists(queue.toKey(id));
    const replies = (await pipe.exec()) ?? [];
    replies.forEach(([err, n], i) => {
      if (err) throw err;
      if (n === 1) live.add(named[i]!);
    });
  }
  return new Set(members.filter((_, i) => jobIds[i] === null || !live.has(jobIds[i]!)));
}

/** Removes the markers of items job `jobId` is done with (those queued again since stay). */
export async function settleMembers(queue: Queue, jobId: string | undefined, members: readonly string[]): Promise<void> {
  if (jobId === undefined || members.length === 0) return;
  const client = await clientOf(queue);
  await client.eval(SETTLE, members.length, ...members.map((m) => markerKey(queue, m)), jobId);
}
