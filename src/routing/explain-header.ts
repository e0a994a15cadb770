import type { RoutingDecision } from './strategy/decision.ts';
import type { RoutingExplanation } from './strategy/types.ts';

/** The request header a key with `explain: true` sends (value `1`), and the response header that answers it. */
export const EXPLAIN_HEADER = 'x-gateway-explain';

/**
 * A routing explanation in the compact shape the `x-gateway-explain` header and the admin API
 * `POST /admin/routing/explain` give (README, Routing, *Reading an explanation*):
 *
 * ```json
 * {"strategy":"cost","unit":"usd",
 *  "candidates":[{"attempt":1,"target":"gemini/gemini-2.5-flash","score":0.000312}, …],
 *  "skipped":[{"target":"anthropic/claude-…","reasons":["capability"],"detail":"cannot serve this request"}],
 *  "unmet":[]}
 * ```
 *
 * `score` is in `unit` (position: config position, 1-based; weight; ms: recent latency; usd:
 * this request's expected cost), null for a latency target without samples; ms are rounded to
 * whole ms. A candidate placed only because nothing better could serve has `reasons` and
 * `detail` too. `refusal` is present when the request was refused.
 */
export interface CompactExplanation {
  readonly strategy: RoutingExplanation['strategy'];
  readonly unit: RoutingExplanation['scoreUnit'];
  readonly candidates: ReadonlyArray<{ attempt: number; target: string; score: number | null; reasons?: readonly string[]; detail?: string }>;
  readonly skipped: ReadonlyArray<{ target: string; reasons: readonly string[]; detail: string; score: number | null }>;
  readonly unmet: readonly string[];
  readonly refusal?: string;
}

export function compactExplanation(decision: RoutingDecision): CompactExplanation {
  const e = decision.explain();
  const score = (s: number | undefined): number | null => (s === undefined || !Number.isFinite(s) ? null : e.scoreUnit === 'ms' ? Math.round(s) : s);
  return {
    strategy: e.strategy,
    unit: e.scoreUnit,
    candidates: e.candidates.map((c) => ({
      attempt: c.attempt,
      target: c.key,
      score: score(c.score),
      ...(c.fallback ? { reasons: c.fallback.reasons, detail: c.fallback.detail } : {}),
    })),
    skipped: e.skipped.map((s) => ({ target: s.key, reasons: s.reasons, detail: s.detail, score: score(s.score) })),
    unmet: e.unmet,
    ...(e.refusal ? { refusal: e.refusal.message } : {}),
  };
}

/** The `x-gateway-explain` response header value: compact JSON, ASCII only (anything else as \uXXXX, which JSON readers decode). */
export function explainHeaderValue(decision: RoutingDecision): string {
  return JSON.stringify(compactExplanation(decision)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Whether a request header value asks for an explanation (`1` or `true`). */
export const wantsExplanation = (value: string | undefined): boolean => value === '1' || value === 'true';
