import { randomUUID } from 'node:crypto';
import type { StateStore } from '../../state/store.ts';
import type { ProviderLimitPolicy } from './provider-limits.ts';
import { limitDetail, type ScannedTarget } from './target-scan.ts';

/**
 * Which of `order`'s targets are at their provider limit for a request of `tokens` (estimate),
 * without spending anything: each limited target gets a reservation that is given back at once
 * (the store has no read-only check; on the embedded store nothing can come in between, on Redis
 * a concurrent request may see the one extra request for a round trip). For the admin API's
 * routing explanation (src/admin/routing-explain.ts), which must show what a real request would
 * meet. A backend fault leaves the target unmarked (provider limits fail open).
 */
export async function limitedTargets(store: StateStore, limits: ProviderLimitPolicy, targets: readonly ScannedTarget[], order: readonly number[], tokens: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (limits.empty) return out;
  for (const i of order) {
    const t = targets[i]!;
    const rules = limits.rulesFor(t.key);
    if (rules.length === 0) continue;
    const charges = rules.map((r) => ({ counter: r.counter, amount: r.unit === 'requests' ? 1 : tokens, limit: r.limit, windowMs: r.windowMs }));
    try {
      const r = await store.reserve(`admin-explain/${randomUUID()}`, limits.partitionOf(t.provider.name), charges);
      if (r.granted) await store.release(r.reservation);
      else out.set(i, limitDetail(rules[r.refusedIndex]!, r.used, charges[r.refusedIndex]!.amount, r.retryAfterMs));
    } catch {
      // the state backend did not answer: the target is shown as the request path would use it
    }
  }
  return out;
}
