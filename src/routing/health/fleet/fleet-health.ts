import { randomBytes } from 'node:crypto';
import { OutageLog, type OutageLogger } from '../../../policy/outage-log.ts';
import { throttledWarn } from '../../../observability/throttled-warn.ts';
import { StateUnavailableError } from '../../../state/errors.ts';
import type { BreakerTransition, TransitionListener } from '../breaker.ts';
import { defaultHealthConfig, type HealthConfig } from '../breaker-schema.ts';
import { judgedLatencyMs, type AttemptOutcome } from '../outcome.ts';
import { evictLeastRecent, finishSnapshot, reconfigureTarget, windowFigures, type SnapshotDraft } from '../snapshot.ts';
import type { TargetHealth } from '../target-health.ts';
import type { TargetHealthSnapshot, TargetKey } from '../view.ts';
import { SUB_WINDOWS, sampleOf } from '../window.ts';
import { decodeBreaker, type FleetBreakerRecord } from './breaker-record.ts';
import { mergeWindow } from './merged.ts';
import { FleetRedis, type SubWindowWrite } from './redis-io.ts';
import { FIRST_GEN, FleetTargetState } from './target-state.ts';

export interface FleetHealthOptions {
  /** REDIS_URL (one node, Sentinel or Cluster: src/state/redis/connect.ts). */
  readonly url: string;
  /** gateway.yaml `server.state.redis`: the key prefix every replica shares, command and connect timeouts (ms). */
  readonly redis: { readonly keyPrefix: string; readonly commandTimeoutMs: number; readonly connectTimeoutMs: number };
  /** Parsed health settings (breaker-schema.ts); the defaults when absent. */
  readonly config?: HealthConfig;
  /** Every breaker state change (report.ts); adopted ones carry `source: 'fleet'`. Should not throw. */
  readonly onTransition?: TransitionListener;
  /** Where one warn per Redis outage (and one info when it is over) goes; pino's shape. */
  readonly log?: OutageLogger;
  /** How often this replica syncs with the fleet, ms (default 1000). */
  readonly syncIntervalMs?: number;
  /** The fleet's figures are used while the last answered sync is at most this old, ms (default 3 intervals, at least 3000). */
  readonly staleAfterMs?: number;
  /** Epoch ms clock of the sync (default Date.now); tests give a fake one, the same as the `atMs`/`nowMs` they pass. */
  readonly now?: () => number;
  /** A closed, not cooling target not used (recorded or read) for this long is dropped, ms (default 1 h, at least the window). */
  readonly idleDropMs?: number;
  /** Most targets tracked at once (default 256). */
  readonly maxTargets?: number;
}

const SWEEP_EVERY_MS = 60_000;
/**
 * How often a sync reads a target's whole window rather than its two newest sub-windows (and
 * those it wrote), ms. Older sub-windows change only when a replica flushes late (after an
 * outage), so this bounds how long such counts stay unseen; reading 2 of 30 hashes cut the
 * sync's Redis and client time several-fold (bench/fleet-health.ts).
 */
const FULL_READ_EVERY_MS = 10_000;

/**
 * Target health shared by a fleet of replicas over Redis (issue 9: "one replica seeing a
 * provider fail opens the breaker for all within a second, and a half-open probe is taken by
 * one replica, not all"; breaker state, latency windows and 429 cool-downs are the fleet's).
 * Same interface and rules as LocalHealth (local.ts); what differs:
 *
 * - **The request path never awaits Redis.** `get`, `record`, `tryProbe` and `releaseProbe`
 *   work on local state. A background sync (every `syncIntervalMs`, one script call per
 *   target, keys.ts) writes this replica's new samples as per-sub-window increments and reads back the
 *   fleet's window (the newest sub-windows each time, all of them every 10 s), breaker record
 *   and cool-down.
 * - **Figures** (`latencyMs`, `p95Ms`, `samples`, `errorRate`, …) are the fleet's as of the last
 *   sync (this replica's attempts since then are added to the error rate's counts), as long as
 *   that sync is at most 3 intervals old; otherwise this replica's own (local window).
 * - **Breaker.** Each replica judges with its own breaker: the latency run is its own attempts
 *   in a row; the error rule reads the fleet's window, after each attempt and after each sync
 *   (so failures split across replicas open it). A decision (open, close) is written at once
 *   to the breaker record; the others adopt it at their next sync (≤ 1 interval later) and
 *   report it with `source: 'fleet'`. Half-open is derived: each replica turns half-open when
 *   the open period it knows ends.
 * - **Half-open probe.** Only the replica holding the claim `SET hp:<target> <replica> NX PX
 *   probeTimeoutMs` grants it (locally, one request at a time, as LocalHealth). A replica asks
 *   for the claim when a request asks it for the probe (`tryProbe`, answered false meanwhile:
 *   the target goes last for that request), so an idle replica never holds it. The claim is
 *   given back when the probe's outcome closes or reopens the breaker, and lapses otherwise.
 * - **Cool-down** after a 429: raised in Redis to this replica's end (never lowered); every
 *   replica cools the target until the later of its own and the fleet's end.
 * - **Redis down or slow** (commands fail after `commandTimeoutMs`): figures fall back to the
 *   local window, the probe to the local breaker; requests never wait. One warn per outage
 *   (policy/outage-log.ts), one info when over. Samples not flushed stay pending (within the
 *   window) and go out when Redis answers; decisions made meanwhile are written then.
 */
export class FleetHealth implements TargetHealth {
  private config: HealthConfig;
  private readonly targets = new Map<TargetKey, FleetTargetState>();
  private readonly emit: TransitionListener;
  private readonly redis: FleetRedis;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly staleMs: number;
  private readonly idleDropMs: number;
  private readonly maxTargets: number;
  private readonly outage: OutageLog;
  /** A command Redis refused (ReplyError), at most one warn a minute. */
  private readonly refused: (fields: object) => void;
  /** This replica's name in probe claims and record ids: random, no host name (it is no one's business). */
  private readonly replica = randomBytes(6).toString('hex');
  private writeCounter = 0;
  private readonly timer: NodeJS.Timeout;
  private syncing: Promise<void> | undefined;
  /** Writes and claims in flight (syncNow and close wait for them). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastSweepMs = 0;
  private closed = false;

  constructor(options: FleetHealthOptions) {
    this.config = options.config ?? defaultHealthConfig();
    this.emit = options.onTransition ?? (() => {});
    this.now = options.now ?? Date.now;
    this.intervalMs = Math.max(50, options.syncIntervalMs ?? 1000);
    this.staleMs = options.staleAfterMs ?? Math.max(3 * this.intervalMs, 3000);
    this.idleDropMs = Math.max(options.idleDropMs ?? 3_600_000, this.config.breaker.errors.windowMs);
    this.maxTargets = Math.max(1, options.maxTargets ?? 256);
    this.outage = new OutageLog(options.log, undefined, this.now);
    this.refused = options.log ? throttledWarn(options.log, 'fleet health: Redis refused a command; this sample or decision is not shared', 60_000, this.now) : () => {};
    this.redis = new FleetRedis(options.url, options.redis, (err) => this.fault(err));
    this.timer = setInterval(() => void this.sync(), this.intervalMs);
    this.timer.unref();
  }

  /** New settings (a config reload), as LocalHealth.configure: a changed window or half-life starts the figures afresh (new keys too). */
  configure(config: HealthConfig): void {
    const old = this.config;
    this.config = config;
    for (const st of this.targets.values()) {
      if (reconfigureTarget(st, old, config)) {
        st.pending.take(Infinity);
        st.fleet = undefined;
        st.windowCache.clear();
        st.fullReadAtMs = 0;
        st.fleetAttempts = 0;
        st.fleetErrors = 0;
      }
    }
  }

  /** Records one upstream attempt's outcome (outcome.ts). O(1); never waits for Redis. */
  record(o: AttemptOutcome): void {
    if (!Number.isFinite(o.atMs)) throw new TypeError(`health: outcome for ${o.key} has no finite atMs (${o.atMs})`);
    const st = this.stateFor(o.key, o.atMs);
    const latencyMs = judgedLatencyMs(o);
    const sample = sampleOf(o, latencyMs);
    st.window.add(o.atMs, sample);
    st.pending.add(Math.floor(o.atMs / st.window.subWindowMs), sample);
    if (o.result === 'rate_limited') {
      const before = st.cooldown.untilMs;
      st.cooldown.onRateLimited(o.atMs, o.retryAfterMs);
      if (st.cooldown.untilMs > before) {
        st.cooldownDirty = true;
        this.publishCooldown(o.key, st);
      }
    } else if (o.result === 'ok') st.cooldown.onAnswer();
    if (o.atMs > st.lastSeenMs) st.lastSeenMs = o.atMs;
    if (st.lastRecordedMs === undefined || o.atMs > st.lastRecordedMs) st.lastRecordedMs = o.atMs;
    st.version += 1;
    if (o.atMs - this.lastSweepMs >= SWEEP_EVERY_MS) this.sweep(o.atMs);
    const [attempts, errors] = this.errorCounts(st, o.atMs);
    // Last: it may call onTransition, and a listener that throws must find the state complete.
    st.breaker.onOutcome({ result: o.result, atMs: o.atMs, latencyMs, windowAttempts: attempts, windowErrors: errors });
  }

  /**
   * May a request go to `key` at `nowMs`? As LocalHealth.tryProbe, but a half-open probe is
   * granted only by the replica holding the fleet's claim; without it, false, and the claim is
   * asked for in the background. While Redis is away, the local breaker alone decides.
   */
  tryProbe(key: TargetKey, nowMs: number): boolean {
    const st = this.targets.get(key);
    if (st === undefined) return true;
    const before = st.breaker.state;
    st.breaker.advance(nowMs);
    let granted: boolean;
    if (st.breaker.state !== 'half-open' || !this.fresh(st, nowMs) || st.claimUntilMs > nowMs) {
      granted = st.breaker.tryProbe(nowMs);
    } else {
      this.claim(key, st, nowMs);
      granted = false;
    }
    if (st.breaker.state !== before) st.version += 1;
    return granted;
  }

  releaseProbe(key: TargetKey): void {
    this.targets.get(key)?.breaker.releaseProbe();
  }

  /**
   * The target's health at `nowMs` (epoch ms): a frozen snapshot, shared until something
   * changes; the fleet's figures while the last sync is fresh. An unknown target is tracked
   * from now on (so the next sync learns the fleet's state of it) and reads as unmeasured.
   */
  get(key: TargetKey, nowMs: number): TargetHealthSnapshot {
    const st = this.stateFor(key, nowMs);
    if (nowMs > st.lastSeenMs) st.lastSeenMs = nowMs;
    if (st.window.advance(nowMs)) st.version += 1;
    if (st.breaker.advance(nowMs)) st.version += 1;
    const fleet = this.fresh(st, nowMs) && st.fleet !== undefined;
    const second = Math.floor(nowMs / 1000);
    const cached = st.snapshot;
    if (cached !== undefined && st.snapshotVersion === st.version && st.snapshotSecond === second && st.snapshotFleet === fleet && cached.breaker === st.breaker.state) return cached;
    st.snapshot = this.snapshotOf(st, nowMs, fleet);
    st.snapshotVersion = st.version;
    st.snapshotSecond = second;
    st.snapshotFleet = fleet;
    return st.snapshot;
  }

  /**
   * Tracks `keys` from now on (gateway.yaml's targets, at start and on reload), so the first
   * sync learns the fleet's state of each before this replica's first request to it.
   */
  track(keys: Iterable<TargetKey>): void {
    const now = this.now();
    for (const key of keys) this.stateFor(key, now);
  }

  /** Epoch ms of the last attempt this replica recorded for `key`; undefined when none. For active probes (probes/scheduler.ts). */
  lastRecordedMs(key: TargetKey): number | undefined {
    return this.targets.get(key)?.lastRecordedMs;
  }

  /** Targets tracked now. */
  get size(): number {
    return this.targets.size;
  }

  /** Whether the target's figures are the fleet's now (its last sync is at most 3 intervals old). For tests and explanations. */
  isShared(key: TargetKey, nowMs: number = this.now()): boolean {
    const st = this.targets.get(key);
    return st !== undefined && st.fleet !== undefined && this.fresh(st, nowMs);
  }

  /** Waits for writes and claims in flight, then runs one sync (what the timer does every interval). For tests. */
  async syncNow(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    if (this.syncing) await this.syncing;
    await this.sync();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Stops the sync and closes the Redis connection (after the writes in flight). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight, ...(this.syncing ? [this.syncing] : [])]);
    await this.redis.close();
  }

  // ——— the sync ———

  private sync(): Promise<void> {
    if (this.closed || this.syncing) return this.syncing ?? Promise.resolve();
    const run = this.syncAll().finally(() => (this.syncing = undefined));
    this.syncing = run;
    return run;
  }

  private async syncAll(): Promise<void> {
    const now = this.now();
    if (now - this.lastSweepMs >= SWEEP_EVERY_MS) this.sweep(now);
    if (!this.redis.ready()) {
      // Nothing is sent, so nothing pending is lost: it waits, within the window.
      for (const st of this.targets.values()) st.pending.dropBefore(Math.floor(now / st.window.subWindowMs) - SUB_WINDOWS + 1);
      this.fault(new Error('not connected'));
      return;
    }
    const results = await Promise.all([...this.targets].map(([key, st]) => this.syncTarget(key, st, now)));
    if (results.every(Boolean)) this.outage.ok({ component: 'fleet health' }, 'fleet health: Redis answers again; routing uses the fleet\'s figures');
  }

  /** One target: flush, read back, adopt. False when Redis did not answer. */
  private async syncTarget(key: TargetKey, st: FleetTargetState, now: number): Promise<boolean> {
    if (st.breakerDirty) this.publishBreaker(key, st, now);
    if (st.cooldownDirty) this.publishCooldown(key, st);
    const s = st.window.subWindowMs;
    const windowMs = this.config.breaker.errors.windowMs;
    const current = Math.floor(now / s);
    const firstSub = current - SUB_WINDOWS + 1;
    const taken = st.pending.take(firstSub);
    const gen = st.gen;
    const changes = st.localChanges;
    const writes: SubWindowWrite[] = [];
    for (const [sub, d] of taken.subs) {
      const fields = d.fields(gen);
      // Expires when the sub-window leaves the window (window.ts's edge), plus a margin for clock skew.
      if (fields.length > 0) writes.push({ sub, fields, ttlMs: Math.max(1, (sub + 1 + SUB_WINDOWS) * s - now + s) });
    }
    st.inFlightAttempts += taken.attempts;
    st.inFlightErrors += taken.errors;
    const full = st.fullReadAtMs === 0 || now - st.fullReadAtMs >= FULL_READ_EVERY_MS;
    const readSubs: number[] = [];
    if (full) for (let b = firstSub; b <= current; b++) readSubs.push(b);
    else {
      // From the sub-window before the newest one read last time: a late tick leaves no gap.
      const from = Math.max(firstSub, st.readThroughSub - 1);
      for (let b = from; b <= current; b++) readSubs.push(b);
      for (const w of writes) if (w.sub < from) readSubs.push(w.sub);
    }
    let back;
    try {
      back = await this.redis.sync(key, windowMs, writes, readSubs);
    } catch (err) {
      // The increments may or may not have run: dropped rather than risk counting them twice
      // (the local window still has them for this replica's own figures).
      st.inFlightAttempts = Math.max(0, st.inFlightAttempts - taken.attempts);
      st.inFlightErrors = Math.max(0, st.inFlightErrors - taken.errors);
      this.fault(err);
      return false;
    }
    st.inFlightAttempts = Math.max(0, st.inFlightAttempts - taken.attempts);
    st.inFlightErrors = Math.max(0, st.inFlightErrors - taken.errors);
    if (this.targets.get(key) !== st || windowMs !== this.config.breaker.errors.windowMs) return true;
    // A breaker decision made here after the read was sent is newer than what it read.
    if (st.localChanges === changes) this.adopt(key, st, decodeBreaker(back.breaker), now);
    st.fleetCoolingUntilMs = back.coolingUntilMs;
    const cache = st.windowCache;
    if (full) {
      cache.clear();
      st.fullReadAtMs = now;
    }
    readSubs.forEach((sub, i) => cache.set(sub, back.windows[i] ?? {}));
    st.readThroughSub = current;
    const hashes: Array<Record<string, string> | undefined> = [];
    for (let b = firstSub; b <= current; b++) hashes.push(cache.get(b));
    for (const b of cache.keys()) if (b < firstSub) cache.delete(b);
    // Under the generation in force now (adopted above, or a close here while the read was out):
    // the hashes hold every generation's counts, and the errors of an ended one no longer count.
    st.fleet = mergeWindow(hashes, firstSub, current, st.gen, s, this.config.latencyHalfLifeMs);
    st.fleetAttempts = st.fleet.attempts;
    st.fleetErrors = st.fleet.errors;
    st.syncedAtMs = now;
    st.version += 1;
    // Failures split across replicas: nobody's own attempt may have tipped the rate over.
    const [attempts, errors] = this.errorCounts(st, now);
    if (st.breaker.judgeErrors(now, attempts, errors)) st.version += 1;
    return true;
  }

  /** Takes the fleet's breaker record when it is one this replica has not seen. */
  private adopt(key: TargetKey, st: FleetTargetState, rec: FleetBreakerRecord | undefined, now: number): void {
    if (rec === undefined) {
      // Redis lost it (restart, expiry) while this replica knows more: written again.
      if (st.breaker.state !== 'closed' || st.gen !== FIRST_GEN) this.publishBreaker(key, st, now);
      return;
    }
    if (rec.id === st.lastRecordId) return;
    st.lastRecordId = rec.id;
    if (rec.gen !== st.gen) {
      st.gen = rec.gen;
      // Before its first sync a target's counts are this replica's latest: they join the fleet's generation.
      if (st.syncedAtMs > 0) st.clearErrorCounts();
    }
    const b = st.breaker;
    const from = b.state;
    if (rec.state === 'open') {
      st.openedHere = false;
      // The same open period (written again, e.g. after Redis lost it): nothing changes here.
      if (from !== 'closed' && b.openUntilMs === rec.untilMs) return;
      b.adopt('open', rec.reason, rec.untilMs);
      // A new open period: a new round of claims.
      st.claimUntilMs = 0;
      st.claimRetryAtMs = 0;
      st.version += 1;
      if (from !== 'open') this.report({ key, from, to: 'open', reason: rec.reason, atMs: now, detail: rec.detail, source: 'fleet' });
      // An open period already over (a sync after its end) turns half-open here, as the fleet's.
      b.advance(now);
    } else if (from !== 'closed') {
      const reason = b.reason ?? rec.reason;
      b.adopt('closed', undefined, 0);
      st.openedHere = false;
      st.claimUntilMs = 0;
      st.claimRetryAtMs = 0;
      st.clearErrorCounts();
      st.version += 1;
      this.report({ key, from, to: 'closed', reason, atMs: now, detail: rec.detail, source: 'fleet' });
    }
  }

  // ——— writes (never awaited by the request path) ———

  /** Writes the breaker's state as this replica knows it; on failure it stays dirty for the next sync. */
  private publishBreaker(key: TargetKey, st: FleetTargetState, now: number): void {
    const b = st.breaker;
    const record: FleetBreakerRecord = {
      // Half-open is derived from the open period's end: written as the open it came from.
      state: b.state === 'closed' ? 'closed' : 'open',
      reason: b.reason ?? 'errors',
      untilMs: b.state === 'closed' ? 0 : b.openUntilMs,
      gen: st.gen,
      id: `${this.replica}.${++this.writeCounter}`,
      detail: st.lastDetail,
    };
    st.lastRecordId = record.id;
    st.breakerDirty = false;
    const windowMs = this.config.breaker.errors.windowMs;
    const ttlMs = Math.max(1, (record.state === 'open' ? record.untilMs - now : 0) + windowMs + this.config.breaker.probeTimeoutMs);
    const release = st.claimUntilMs > 0 ? this.replica : undefined;
    st.claimUntilMs = 0;
    this.hold(
      this.redis.publishBreaker(key, record, ttlMs, release).catch((err: unknown) => {
        // Only when nothing newer was written since.
        if (st.lastRecordId === record.id) st.breakerDirty = true;
        this.fault(err);
      }),
    );
  }

  private publishCooldown(key: TargetKey, st: FleetTargetState): void {
    const until = st.cooldown.untilMs;
    const ttlMs = until - this.now();
    st.cooldownDirty = false;
    if (ttlMs <= 0) return;
    this.hold(
      this.redis.raiseCooldown(key, until, ttlMs).catch((err: unknown) => {
        if (st.cooldown.untilMs === until) st.cooldownDirty = true;
        this.fault(err);
      }),
    );
  }

  /** Asks Redis for the half-open probe claim (at most one request in flight, and not again within an interval of losing it). */
  private claim(key: TargetKey, st: FleetTargetState, nowMs: number): void {
    if (st.claimPending || nowMs < st.claimRetryAtMs) return;
    st.claimPending = true;
    const ttlMs = this.config.breaker.probeTimeoutMs;
    const changes = st.localChanges;
    const lastRecord = st.lastRecordId;
    this.hold(
      this.redis
        .claimProbe(key, this.replica, ttlMs)
        .then((won) => {
          // Only for the half-open period it was asked in.
          if (won && st.localChanges === changes && st.lastRecordId === lastRecord && st.breaker.state === 'half-open') st.claimUntilMs = nowMs + ttlMs;
          else if (!won) st.claimRetryAtMs = nowMs + this.intervalMs;
          st.version += 1;
        })
        .catch((err: unknown) => {
          st.claimRetryAtMs = nowMs + this.intervalMs;
          this.fault(err);
        })
        .finally(() => (st.claimPending = false)),
    );
  }

  private hold(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  // ——— local state ———

  /** The breaker's transitions from this replica's own judgement: written to the fleet, reported as local. */
  private onLocal(key: TargetKey, t: BreakerTransition): void {
    const st = this.targets.get(key);
    if (st === undefined) return;
    if (t.to === 'half-open') {
      // Every replica notices the end of an open period; only the one that opened it counts it as its own.
      this.report({ ...t, source: st.openedHere ? 'local' : 'fleet' });
      return;
    }
    st.localChanges += 1;
    st.openedHere = t.to === 'open';
    st.claimRetryAtMs = 0;
    st.lastDetail = t.detail;
    st.version += 1;
    this.publishBreaker(key, st, t.atMs);
    this.report({ ...t, source: 'local' });
  }

  private report(t: BreakerTransition): void {
    this.emit(t);
  }

  /** The error rule's counts: the fleet's (last sync + this replica's since) while fresh, else this replica's own window. */
  private errorCounts(st: FleetTargetState, nowMs: number): [attempts: number, errors: number] {
    if (st.fleet !== undefined && this.fresh(st, nowMs)) {
      return [st.fleetAttempts + st.inFlightAttempts + st.pending.attempts, st.fleetErrors + st.inFlightErrors + st.pending.errors];
    }
    return [st.window.totalAttempts, st.window.totalErrors];
  }

  private fresh(st: FleetTargetState, nowMs: number): boolean {
    return st.syncedAtMs > 0 && nowMs - st.syncedAtMs <= this.staleMs;
  }

  private fault(err: unknown): void {
    if (this.closed) return;
    // Redis answered, refusing the command: a bug of ours, not an outage (the fleet state is still readable).
    if (err instanceof Error && err.name === 'ReplyError') {
      this.refused({ component: 'fleet health', error: err.message.slice(0, 200) });
      return;
    }
    // The state layer's wording: no host or port (ioredis puts them into connection errors).
    const message = new StateUnavailableError('redis', 'fleet health sync', err).message;
    this.outage.fault({ component: 'fleet health', error: message }, 'fleet health: Redis not answering; routing uses this replica\'s own figures and breakers until it does');
  }

  private snapshotOf(st: FleetTargetState, nowMs: number, fleet: boolean): TargetHealthSnapshot {
    const w = st.window;
    const b = st.breaker;
    const f = st.fleet;
    let snapshot: SnapshotDraft;
    if (fleet && f !== undefined) {
      const [attempts, errors] = this.errorCounts(st, nowMs);
      snapshot = {
        latencyMs: f.latencyMs,
        p95Ms: f.p95Ms,
        samples: f.samples,
        errorRate: attempts > 0 ? errors / attempts : 0,
        attempts,
        cachedInputShare: f.promptTokens > 0 ? f.cachedTokens / f.promptTokens : 0,
        breaker: b.state,
      };
    } else {
      snapshot = windowFigures(w, b);
    }
    return finishSnapshot(snapshot, b, Math.max(st.cooldown.untilMs, st.fleetCoolingUntilMs), nowMs);
  }

  private stateFor(key: TargetKey, nowMs: number): FleetTargetState {
    let st = this.targets.get(key);
    if (st !== undefined) return st;
    if (this.targets.size >= this.maxTargets) {
      this.sweep(nowMs);
      if (this.targets.size >= this.maxTargets) evictLeastRecent(this.targets);
    }
    const created: FleetTargetState = new FleetTargetState(
      key,
      this.config,
      (t) => this.onLocal(key, t),
      () => {
        // A probe closed the breaker here: a new generation of error counts, for the whole fleet.
        created.gen = `${this.replica}.${++this.writeCounter}`;
        created.clearErrorCounts();
      },
      nowMs,
    );
    st = created;
    this.targets.set(key, st);
    return st;
  }

  /** Drops closed, not cooling targets unused for `idleDropMs` (their keys expire in Redis by themselves). */
  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [key, st] of this.targets) {
      const cooling = Math.max(st.cooldown.untilMs, st.fleetCoolingUntilMs);
      if (nowMs - st.lastSeenMs >= this.idleDropMs && st.breaker.state === 'closed' && cooling <= nowMs && st.pending.size === 0) this.targets.delete(key);
    }
  }
}
