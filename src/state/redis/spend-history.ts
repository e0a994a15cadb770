import { HOUR_MS, compareBuckets, type SpendBucket } from '../spend-history.ts';

/**
 * Spend history in Redis (src/state/spend-history.ts): one hash per hour, `hs:{h:<hourMs>}`, its
 * own Cluster hash tag (an hour's buckets on one shard, the hours spread over the shards). Field
 * `<metric>:<JSON [team, provider, model]>` with metric `r` requests, `i`/`o`/`c` tokens in, out,
 * cached, `u` nano-USD; HINCRBY adds (the sums stay exact integers). The hash expires `keepMs`
 * after its hour ends (PEXPIREAT, absolute: every replica sets the same time).
 */
export const historyKey = (hour: number): string => `hs:{h:${hour}}`;

/** KEYS: the hour's hash. ARGV: expire-at epoch ms, then field, increment pairs. Returns 1. */
export const HISTORY_ADD = `
local n = #ARGV
for i = 2, n, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`;

const METRICS = [
  ['r', 'requests'],
  ['i', 'tokensIn'],
  ['o', 'tokensOut'],
  ['c', 'tokensCached'],
  ['u', 'nanoUsd'],
] as const;

/** The script calls for a batch: one per hour (one key, one slot), skipping buckets already past retention. */
export function historyWrites(buckets: readonly SpendBucket[], keepMs: number, nowMs: number): Array<{ key: string; argv: Array<string | number> }> {
  const byHour = new Map<number, Array<string | number>>();
  for (const b of buckets) {
    const expireAt = b.hour + HOUR_MS + keepMs;
    if (expireAt <= nowMs) continue;
    let argv = byHour.get(b.hour);
    if (!argv) byHour.set(b.hour, (argv = [expireAt]));
    const dims = JSON.stringify([b.team, b.provider, b.model]);
    for (const [m, f] of METRICS) if (b[f] > 0 || m === 'r') argv.push(`${m}:${dims}`, b[f]);
  }
  return [...byHour].map(([hour, argv]) => ({ key: historyKey(hour), argv }));
}

/** One hour's hash (HGETALL) as buckets. Fields it does not know are skipped. */
export function bucketsOfHash(hour: number, hash: Record<string, string>): SpendBucket[] {
  const out = new Map<string, SpendBucket>();
  for (const [field, value] of Object.entries(hash)) {
    const sep = field.indexOf(':');
    const metric = METRICS.find(([m]) => m === field.slice(0, sep));
    if (sep < 0 || !metric) continue;
    const dims = field.slice(sep + 1);
    let b = out.get(dims);
    if (!b) {
      let team = '';
      let provider = '';
      let model = '';
      try {
        [team, provider, model] = JSON.parse(dims) as [string, string, string];
      } catch {
        continue;
      }
      b = { hour, team, provider, model, requests: 0, tokensIn: 0, tokensOut: 0, tokensCached: 0, nanoUsd: 0 };
      out.set(dims, b);
    }
    b[metric[1]] = Number(value);
  }
  return [...out.values()].sort(compareBuckets);
}
