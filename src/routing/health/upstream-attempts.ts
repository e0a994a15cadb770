import { LRUCache } from 'lru-cache';
import type { Exchange } from '../../exchange/exchange.ts';
import type { GatewayMetrics } from '../../metrics/metrics.ts';
import { judgeAttempt, type UpstreamAttemptEntry } from './attempt-log.ts';
import type { AttemptOutcome } from './outcome.ts';
import { recordOutcome } from './report.ts';
import type { TargetHealth } from './target-health.ts';
import type { TargetKey } from './view.ts';

/** What a finished request leaves behind for its late upstream-log entries: enough to name each attempt's target. */
interface Remembered {
  readonly stream: boolean;
  /** [attempt number, cluster, target key] of each attempt the gateway prepared. */
  readonly attempts: ReadonlyArray<readonly [number, string, TargetKey]>;
}

export interface UpstreamAttemptsOptions {
  readonly health: TargetHealth;
  readonly metrics?: GatewayMetrics;
  /** A request the gateway still holds (in flight, or its log line held for Envoy's account), by id. */
  readonly lookup: (requestId: string) => Exchange | undefined;
  /** How long a finished request is remembered for its entries, ms (default 10 s: Envoy flushes every 0.1 s). */
  readonly rememberMs?: number;
  /** Most finished requests remembered at once (default 10,000; beyond, the least recent is forgotten). */
  readonly maxRemembered?: number;
  /** Clock for `atMs` when an entry has no times (tests). */
  readonly now?: () => number;
}

/**
 * Feeds failed upstream attempts from Envoy's router `upstream_log` (attempt-log.ts) into
 * target health. Each entry names its cluster and its `x-envoy-attempt-count`; the target
 * (provider and the provider's model) is that attempt's record on the request, found in the
 * live exchange, or, when the request finished before Envoy's entry came (it flushes every
 * 0.1 s), in a small memory of finished requests: bounded (`maxRemembered`), short-lived
 * (`rememberMs`), and kept only for requests that can have entries (more than one attempt, or
 * a final attempt that did not end in a complete 2xx answer). A request answered by its first
 * attempt leaves nothing, so the normal path allocates nothing here. An entry whose request is
 * unknown (forgotten, or from before a restart) is dropped: guessing its model could blame the
 * wrong target.
 */
export class UpstreamAttempts {
  private readonly finished: LRUCache<string, Remembered>;
  private readonly now: () => number;

  constructor(private readonly opts: UpstreamAttemptsOptions) {
    this.finished = new LRUCache({ max: opts.maxRemembered ?? 10_000, ttl: opts.rememberMs ?? 10_000, ttlAutopurge: false });
    this.now = opts.now ?? Date.now;
  }

  /** Finished requests remembered now (for tests). */
  get remembered(): number {
    return this.finished.size;
  }

  /** Called once per finished request (finishExchange): remembers it when entries may still come. */
  remember(ex: Exchange, outcome: string): void {
    const attempts = ex.attempts;
    const last = attempts[attempts.length - 1];
    if (last === undefined) return;
    const answered = last.status !== undefined && last.status >= 200 && last.status < 300 && outcome === 'completed';
    if (attempts.length === 1 && answered) return;
    this.finished.set(ex.id, { stream: ex.stream, attempts: attempts.map((a) => [a.number, a.provider.cluster, a.key] as const) });
  }

  /** One entry of the upstream log. Never throws for a well-formed entry. */
  onAttempt(e: UpstreamAttemptEntry): void {
    if (e.requestId === undefined) return;
    const nowMs = this.now();
    const judged = judgeAttempt(e, nowMs);
    if (judged === undefined) return;
    const target = this.targetOf(e);
    if (target === undefined) return;
    // The attempt's end on Envoy's clock (epoch ms), never in the future.
    const endMs = e.startMs !== undefined && e.durationMs !== undefined ? Math.min(nowMs, e.startMs + e.durationMs) : nowMs;
    const o: { -readonly [K in keyof AttemptOutcome]: AttemptOutcome[K] } = { key: target.key, stream: target.stream, atMs: endMs, result: judged.result };
    if (e.durationMs !== undefined) o.totalMs = e.durationMs;
    if (judged.retryAfterMs !== undefined) o.retryAfterMs = judged.retryAfterMs;
    recordOutcome(this.opts.health, this.opts.metrics, o);
  }

  /** The target of the entry's attempt: by attempt number and cluster, else the request's only target on that cluster. */
  private targetOf(e: UpstreamAttemptEntry): { key: TargetKey; stream: boolean } | undefined {
    const ex = this.opts.lookup(e.requestId!);
    if (ex !== undefined) {
      const byNumber = ex.attempts.find((a) => a.number === e.attemptNumber && a.provider.cluster === e.cluster);
      if (byNumber) return { key: byNumber.key, stream: ex.stream };
      const targets = ex.model?.targets ?? [];
      const onCluster = targets.filter((t) => t.provider.cluster === e.cluster);
      return onCluster.length === 1 ? { key: onCluster[0]!.key, stream: ex.stream } : undefined;
    }
    const r = this.finished.get(e.requestId!);
    if (r === undefined) return undefined;
    const byNumber = r.attempts.find(([n, cluster]) => n === e.attemptNumber && cluster === e.cluster);
    if (byNumber) return { key: byNumber[2], stream: r.stream };
    const onCluster = r.attempts.filter(([, cluster]) => cluster === e.cluster);
    return onCluster.length > 0 && onCluster.every(([, , key]) => key === onCluster[0]![2]) ? { key: onCluster[0]![2], stream: r.stream } : undefined;
  }
}
