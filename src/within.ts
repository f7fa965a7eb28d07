/**
 * `p`, or a rejection with `message` once `ms` have passed, whichever comes first. The timer is
 * cleared either way, so a probe that answers leaves nothing to keep the process alive.
 */
export async function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
