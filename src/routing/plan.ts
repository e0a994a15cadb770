/** How many attempts envoy.yaml's cluster matcher has slots for (x-llmx-try-1 … x-llmx-try-4). */
export const MAX_ATTEMPT_SLOTS = 4;

/** Header naming the cluster for attempt N (1-based), read by envoy.yaml's cluster matcher. */
export function attemptSlotHeader(attempt: number): string {
  return `x-llmx-try-${attempt}`;
}

export interface PlannedTarget {
  readonly provider: { readonly cluster: string };
}

/**
 * The order Envoy tries a model's targets in: attempt N goes to the cluster named in header
 * x-llmx-try-N, and x-envoy-max-retries allows exactly one retry per fallback. Built once
 * per config; the router-level filter hands it to Envoy.
 */
export interface RoutingPlan {
  readonly headers: Readonly<Record<string, string>>;
}

export function buildRoutingPlan(targets: readonly PlannedTarget[]): RoutingPlan {
  // Envoy reads x-envoy-attempt-count before updating it, so the matcher sees N-1 for attempt N;
  // starting at 0 makes the first evaluation pick x-llmx-try-1 (see envoy.yaml).
  const headers: Record<string, string> = { 'x-envoy-max-retries': String(targets.length - 1), 'x-envoy-attempt-count': '0' };
  targets.forEach((t, i) => {
    headers[attemptSlotHeader(i + 1)] = t.provider.cluster;
  });
  return Object.freeze({ headers: Object.freeze(headers) });
}

/**
 * Slot headers an attempt may remove before going upstream. Envoy's upstream filters share
 * one header map across attempts, so only slots already used (≤ this attempt) can go; later
 * slots must stay for the retries that read them.
 */
export function usedSlotHeaders(attempt: number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= Math.min(attempt, MAX_ATTEMPT_SLOTS); i++) out.push(attemptSlotHeader(i));
  return out;
}
