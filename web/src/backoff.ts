// Reconnect delays of the operator socket: 0.5 s doubling to 15 s, each with jitter so that many dashboards cut off
// by the same node restart do not all come back in the same instant. The attempt count is reset by a snapshot.

export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 15000;

/**
 * The delay before reconnect attempt number `attempt` (0 for the first after a good connection). `random` is in
 * [0, 1): the delay is between half and all of the doubled base.
 */
export function backoffDelay(attempt: number, random: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + random * 0.5));
}
