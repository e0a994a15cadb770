import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

/**
 * The policies the benchmark turns on for the demo key (name `demo`, team `demo`, the key every
 * gateway path sends): rate limits on the key and on its team (requests and tokens per minute)
 * and a monthly team budget, all far above what a run can reach (a saturated path does ~5,000
 * requests/s, ~300,000 per minute, at ~0.03 µUSD each), so nothing is ever refused and every
 * request pays the full policy path: one window reservation of 4 charges (key and team ×
 * requests and tokens) and one spend reservation at admission, their settlement at the end.
 */
export const BENCH_POLICIES = {
  rateLimits: {
    keys: { demo: { requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000_000 } },
    teams: { demo: { limits: { requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000_000 } } },
  },
  budgets: {
    teams: { demo: { budget: { limitUsd: 9_000_000 } } },
  },
} as const;

/**
 * `base` (a gateway.yaml) with BENCH_POLICIES merged into its `rateLimits:` and `budgets:`
 * sections (created when absent; what the file sets for other keys and teams stays), written to
 * `out`. Throws when `base` already sets any of them for the demo key or team (the benchmark
 * would then measure someone else's policies, and its "without" path would not be without).
 */
export function writePolicyConfig(base: string, out: string): string {
  const doc = parseDocument(readFileSync(base, 'utf8'));
  const entries: Array<[string[], unknown]> = [
    [['rateLimits', 'keys', 'demo'], BENCH_POLICIES.rateLimits.keys.demo],
    [['rateLimits', 'teams', 'demo'], BENCH_POLICIES.rateLimits.teams.demo],
    [['budgets', 'teams', 'demo'], BENCH_POLICIES.budgets.teams.demo],
  ];
  for (const [at, value] of entries) {
    if (doc.hasIn(at)) throw new Error(`${base} already sets ${at.join('.')}; the policy benchmark sets its own`);
    doc.setIn(at, doc.createNode(value));
  }
  writeFileSync(out, doc.toString());
  return out;
}
