import type { ChargeStatus } from '../state/store.ts';
import type { LimitRule, LimitUnit } from './rate-limit-config.ts';

/**
 * OpenAI's rate-limit response headers (`x-ratelimit-limit-requests`, `-remaining-requests`,
 * `-reset-requests` and the `-tokens` triple; shared/wire/README.md §2.1). OpenAI has one limit per
 * unit; the gateway may have several (key, team, feature; minute, day), so each triple reports
 * the **most constraining** one: the fewest units remaining, on a tie the longest reset.
 */

/**
 * A duration as OpenAI writes it in `x-ratelimit-reset-*`: Go's time.Duration text at ms
 * precision (`20ms`, `1s`, `1.5s`, `6m0s`, `24h0m0s`).
 */
export function formatResetDuration(ms: number): string {
  const d = Math.max(0, Math.ceil(ms));
  if (d === 0) return '0s';
  if (d < 1000) return `${d}ms`;
  const h = Math.floor(d / 3_600_000);
  const m = Math.floor((d % 3_600_000) / 60_000);
  const secMs = d % 60_000;
  const s = secMs % 1000 === 0 ? String(secMs / 1000) : (secMs / 1000).toFixed(3).replace(/0+$/, '');
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

const NAMES = {
  requests: { limit: 'x-ratelimit-limit-requests', remaining: 'x-ratelimit-remaining-requests', reset: 'x-ratelimit-reset-requests' },
  tokens: { limit: 'x-ratelimit-limit-tokens', remaining: 'x-ratelimit-remaining-tokens', reset: 'x-ratelimit-reset-tokens' },
} as const;

/**
 * The last reset text made, by ms: requests granted within the same ms (and the same window)
 * share it instead of formatting it again (formatting is most of what the headers cost).
 */
const lastReset = { ms: -1, text: '0s' };
function resetText(ms: number): string {
  if (ms !== lastReset.ms) {
    lastReset.text = formatResetDuration(ms);
    lastReset.ms = ms;
  }
  return lastReset.text;
}

/** The triple for one unit: limit, remaining (never below 0), reset. */
function triple(unit: LimitUnit, limit: number, remaining: number, resetMs: number, into: Record<string, string>): void {
  const names = NAMES[unit];
  into[names.limit] = String(limit);
  into[names.remaining] = String(Math.max(0, remaining));
  into[names.reset] = resetText(resetMs);
}

/** Headers for a granted request: per unit, the most constraining of its charges. */
export function grantedHeaders(rules: readonly LimitRule[], status: readonly ChargeStatus[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const unit of ['requests', 'tokens'] as const) {
    let best = -1;
    for (let i = 0; i < rules.length; i++) {
      if (rules[i]!.unit !== unit) continue;
      const s = status[i]!;
      const b = best < 0 ? undefined : status[best]!;
      if (!b || s.remaining < b.remaining || (s.remaining === b.remaining && s.resetMs > b.resetMs)) best = i;
    }
    if (best >= 0) triple(unit, status[best]!.limit, status[best]!.remaining, status[best]!.resetMs, headers);
  }
  return headers;
}

/**
 * Headers for a refusal: the refused limit's triple, `reset` being the time until the request
 * would fit (the window's length when it never fits: its amount alone exceeds the limit).
 */
export function refusedHeaders(rule: LimitRule, used: number, retryAfterMs: number | null): Record<string, string> {
  const headers: Record<string, string> = {};
  triple(rule.unit, rule.limit, rule.limit - used, retryAfterMs ?? rule.windowMs, headers);
  return headers;
}
