import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { clientReady, connectRedis, parseRedisUrl } from '../../../state/redis/connect.ts';
import type { TargetKey } from '../view.ts';
import { encodeBreaker, type FleetBreakerRecord } from './breaker-record.ts';
import * as K from './keys.ts';

/**
 * One target's sync in one command: this replica's increments into its sub-window hashes
 * (each then PEXPIREd), then the reads: the breaker hash, the cool-down and the window's
 * sub-window hashes. KEYS: hb, hc, the `ARGV[1]` sub-windows read, then the sub-windows written;
 * ARGV: the read count, then per written hash its TTL (ms), its pair count and the
 * field/increment pairs. One command instead of ~33 per target: the client's per-command cost
 * was most of the sync's CPU.
 */
const SYNC = `local reads = tonumber(ARGV[1])
local ai = 2
for k = 3 + reads, #KEYS do
  local ttl = ARGV[ai]
  local n = tonumber(ARGV[ai + 1])
  ai = ai + 2
  for j = 0, n - 1 do redis.call('HINCRBY', KEYS[k], ARGV[ai + 2 * j], ARGV[ai + 2 * j + 1]) end
  ai = ai + 2 * n
  redis.call('PEXPIRE', KEYS[k], ttl)
end
local out = { redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2]) or '' }
for k = 3, 2 + reads do out[#out + 1] = redis.call('HGETALL', KEYS[k]) end
return out`;
/** Raises the cool-down's end (never lowers it: another replica's longer retry-after stands). */
const RAISE_COOLDOWN = `local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
/** SET NX PX, re-entrant: the holder may renew its own claim (it may have lost track of one it won). */
const CLAIM_PROBE = `local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
/** Deletes the probe claim only when this replica holds it (a lapsed claim may be another's now). */
const RELEASE_PROBE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Scripts {
  llmxHealthSync(numKeys: number, ...args: Array<string | number>): Promise<unknown[]>;
  llmxHealthRaiseCooldown(key: string, untilMs: number, ttlMs: number): Promise<number>;
  llmxHealthReleaseProbe(key: string, replica: string): ChainableCommander;
  llmxHealthClaimProbe(key: string, replica: string, ttlMs: number): Promise<number>;
}

/** What one target's sync read back. */
export interface TargetReadback {
  /** HGETALL of the breaker hash (`{}` when absent). */
  readonly breaker: Record<string, string>;
  /** The fleet's cool-down end, epoch ms; 0 when none. */
  readonly coolingUntilMs: number;
  /** HGETALL of the sub-windows asked for, in their order. */
  readonly windows: Array<Record<string, string>>;
}

/** One sub-window's increments for `flush`. */
export interface SubWindowWrite {
  readonly sub: number;
  /** Field/increment pairs (deltas.ts `fields`). */
  readonly fields: ReadonlyArray<string | number>;
  /** PEXPIRE of the hash, ms: until the sub-window leaves the window. */
  readonly ttlMs: number;
}

/**
 * The fleet health's own Redis connection (REDIS_URL, gateway.yaml `server.state.redis`: key
 * prefix, command and connect timeouts; connect.ts semantics: no offline queue, no re-send, a
 * command timeout). Its own, not the state store's: the background sync then never sits in
 * front of a request's rate-limit or budget command. Each method is one command (a script) or
 * one pipeline on one target's keys (one Cluster slot, keys.ts) and rejects when Redis does not
 * answer.
 */
export class FleetRedis {
  private readonly client: (Redis | Cluster) & Scripts;

  constructor(url: string, opts: { keyPrefix: string; commandTimeoutMs: number; connectTimeoutMs: number }, onError: (err: Error) => void) {
    const client = connectRedis(parseRedisUrl(url), { ...opts, autoPipelining: false });
    // ioredis emits 'error' on every failed (re)connect; without a listener it prints to stderr.
    client.on('error', onError);
    client.defineCommand('llmxHealthSync', { lua: SYNC });
    client.defineCommand('llmxHealthRaiseCooldown', { numberOfKeys: 1, lua: RAISE_COOLDOWN });
    client.defineCommand('llmxHealthReleaseProbe', { numberOfKeys: 1, lua: RELEASE_PROBE });
    client.defineCommand('llmxHealthClaimProbe', { numberOfKeys: 1, lua: CLAIM_PROBE });
    this.client = client as (Redis | Cluster) & Scripts;
  }

  /** Connected and able to take commands now (a Cluster: every master). */
  ready(): boolean {
    return clientReady(this.client);
  }

  /**
   * Writes this replica's increments and reads the target's fleet state back, in one script
   * (the reads come after the writes, so they include them): the breaker hash, the cool-down
   * and the sub-windows `readSubs` of the window `windowMs`.
   */
  async sync(key: TargetKey, windowMs: number, writes: readonly SubWindowWrite[], readSubs: readonly number[]): Promise<TargetReadback> {
    const keys: string[] = [K.breakerKey(key), K.cooldownKey(key)];
    for (const sub of readSubs) keys.push(K.windowKey(key, windowMs, sub));
    const argv: Array<string | number> = [readSubs.length];
    for (const w of writes) {
      keys.push(K.windowKey(key, windowMs, w.sub));
      argv.push(wholeMs(w.ttlMs), w.fields.length / 2, ...w.fields);
    }
    const reply = await this.client.llmxHealthSync(keys.length, ...keys, ...argv);
    const cooling = Number(reply[1] || 0);
    return {
      breaker: pairs(reply[0]),
      coolingUntilMs: Number.isFinite(cooling) ? cooling : 0,
      windows: reply.slice(2).map(pairs),
    };
  }

  /** Writes the breaker record (TTL `ttlMs`), and gives back the probe claim when `releaseProbeOf` (this replica) holds it. */
  async publishBreaker(key: TargetKey, record: FleetBreakerRecord, ttlMs: number, releaseProbeOf: string | undefined): Promise<void> {
    const p = this.client.pipeline() as ChainableCommander & Scripts;
    p.hset(K.breakerKey(key), ...encodeBreaker(record));
    p.pexpire(K.breakerKey(key), wholeMs(ttlMs));
    if (releaseProbeOf !== undefined) p.llmxHealthReleaseProbe(K.probeKey(key), releaseProbeOf);
    await exec(p);
  }

  /** Raises the fleet's cool-down of `key` to `untilMs` (epoch ms), expiring `ttlMs` from now. */
  async raiseCooldown(key: TargetKey, untilMs: number, ttlMs: number): Promise<void> {
    await this.client.llmxHealthRaiseCooldown(K.cooldownKey(key), Math.ceil(untilMs), wholeMs(ttlMs));
  }

  /** `SET hp:<target> <replica> NX PX ttlMs` (or renews this replica's own): true when this replica now holds the half-open probe. */
  async claimProbe(key: TargetKey, replica: string, ttlMs: number): Promise<boolean> {
    return (await this.client.llmxHealthClaimProbe(K.probeKey(key), replica, wholeMs(ttlMs))) === 1;
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/**
 * A TTL as Redis takes it (PX and PEXPIRE refuse a fraction: `ERR value is not an integer`), ms,
 * rounded up and at least 1. Times here come from outcomes' `atMs`, which may carry fractions.
 */
function wholeMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}

/** HGETALL's flat reply inside a script (`[field, value, …]`) as an object. */
function pairs(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** A pipeline's replies; rejects with the first command's error. */
async function exec(p: ChainableCommander): Promise<unknown[]> {
  const results = await p.exec();
  if (results === null) throw new Error('fleet health: the Redis pipeline was discarded');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
