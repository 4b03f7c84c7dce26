/**
 * How long Quiver keeps trying to reach a PostgreSQL server it has been connected to (a restart, a
 * failover, a network blip) before the operation fails with `E_DATABASE`.
 */
export const RECONNECT_WITHIN_MS = 30_000;

/** How long one attempt to open a connection may take before it counts as timed out. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** How many times a whole transaction is run when its connection keeps dropping before COMMIT. */
export const TRANSACTION_ATTEMPTS = 5;

/** The pause before retry number `attempt` (1, 2, …): 100 ms doubling up to 2 s, with jitter. */
export function backoffMs(attempt: number): number {
  const base = Math.min(2000, 100 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
