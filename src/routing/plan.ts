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
 * The order Envoy tries targets in: attempt N goes to the cluster named in header
 * x-llmx-try-N, and x-envoy-max-retries allows exactly one retry per fallback. The
 * router-level filter hands `headers` to Envoy; the upstream filter maps attempt N back to
 * the model's target `targets[N - 1]`.
 */
export interface RoutingPlan {
  readonly headers: Readonly<Record<string, string>>;
  /** Indexes into the model's target list, in attempt order (attempt N → `targets[N - 1]`). */
  readonly targets: readonly number[];
}

/**
 * The plan over `indexes` (default: all targets, in config order); frozen, so one object can
 * serve every request that plans the same targets.
 */
export function buildRoutingPlan(targets: readonly PlannedTarget[], indexes: readonly number[] = targets.map((_, i) => i)): RoutingPlan {
  // Envoy reads x-envoy-attempt-count before updating it, so the matcher sees N-1 for attempt N;
  // starting at 0 makes the first evaluation pick x-llmx-try-1 (see envoy.yaml).
  const headers: Record<string, string> = { 'x-envoy-max-retries': String(indexes.length - 1), 'x-envoy-attempt-count': '0' };
  indexes.forEach((targetIndex, i) => {
    headers[attemptSlotHeader(i + 1)] = targets[targetIndex]!.provider.cluster;
  });
  return Object.freeze({ headers: Object.freeze(headers), targets: Object.freeze([...indexes]) });
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
