/**
 * Whether this process can do its work now: each service it needs is asked, at once and each
 * within a time limit, so one hung service cannot hang the answer. The probes are the shell's
 * (a query, a Redis PING, the mail transport's last state); deciding is here.
 */
export type ServiceName = 'database' | 'redis' | 'mail';

export interface ReadinessProbe {
  name: ServiceName;
  /** Resolves when the service answers; rejects (or resolves with a reason) when it does not. */
  check(): Promise<string | undefined>;
}

export interface ReadinessCheck {
  name: ServiceName;
  ok: boolean;
  /** Why it is not ready, for the operator. */
  reason?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessCheck[];
}

export const PROBE_TIMEOUT_MS = 2_000;

export async function checkReadiness(probes: readonly ReadinessProbe[], timeoutMs = PROBE_TIMEOUT_MS): Promise<ReadinessReport> {
  const checks = await Promise.all(probes.map((p) => runProbe(p, timeoutMs)));
  return { ready: checks.every((c) => c.ok), checks };
}

async function runProbe(p: ReadinessProbe, timeoutMs: number): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const reason = await Promise.race([p.check(), timeout]);
    return reason === undefined ? { name: p.name, ok: true } : { name: p.name, ok: false, reason };
  } catch (err) {
    return { name: p.name, ok: false, reason: (err as Error)?.message ?? String(err) };
  } finally {
    clearTimeout(timer);
  }
}
