import { HISTOGRAM_BUCKETS, bucketOf, quantileMs } from './histogram.ts';
import { countsAsAttempt, isTargetError, type AttemptOutcome } from './outcome.ts';

/** Sub-windows per health window: 5 min → 30 × 10 s. */
export const SUB_WINDOWS = 30;

/** Latency kind: index 0 streams (time to first token), 1 non-streamed answers (total time). */
export type LatencyKind = 0 | 1;
export const STREAM: LatencyKind = 0;
export const JSON_ANSWER: LatencyKind = 1;

/**
 * What one attempt adds to a health window: `attempt`/`error` for the error rate
 * (outcome.ts), a latency sample of `kind` (ms) for an answer that came, and its prompt and
 * cached tokens. Local windows (HealthWindow) and the fleet's pending deltas take the same one.
 */
export interface WindowSample {
  attempt: boolean;
  error: boolean;
  kind: LatencyKind;
  latencyMs: number | undefined;
  promptTokens: number;
  cachedTokens: number;
}

const scratch: WindowSample = { attempt: false, error: false, kind: JSON_ANSWER, latencyMs: undefined, promptTokens: 0, cachedTokens: 0 };

/**
 * `o`'s sample, with `latencyMs` its judged latency (outcome.ts judgedLatencyMs). One shared
 * object, overwritten by the next call (record runs per attempt: no allocation): use it at once.
 */
export function sampleOf(o: AttemptOutcome, latencyMs: number | undefined): Readonly<WindowSample> {
  const ok = o.result === 'ok';
  const prompt = ok && o.promptTokens !== undefined && o.promptTokens > 0 ? o.promptTokens : 0;
  scratch.attempt = countsAsAttempt(o.result);
  scratch.error = isTargetError(o.result);
  scratch.kind = o.stream ? STREAM : JSON_ANSWER;
  // Latency figures describe answers that came: a failure's time is its timeout or its crash.
  scratch.latencyMs = ok ? latencyMs : undefined;
  scratch.promptTokens = prompt;
  scratch.cachedTokens = prompt > 0 ? Math.min(prompt, Math.max(0, o.cachedTokens ?? 0)) : 0;
  return scratch;
}

/**
 * One target's recent traffic over the health window of `windowMs`, cut into 30 epoch-aligned
 * sub-windows of s = ⌈windowMs / 30⌉ ms (aligned to the epoch, so replicas agree on which
 * sub-window a sample falls in). Per sub-window, plain counters: attempts, errors, prompt and
 * cached tokens, and per latency kind the sample count, their sum (ms) and a log-scale
 * histogram (histogram.ts). Running window totals are kept beside them (added on each sample,
 * subtracted when a sub-window leaves), so a read never merges the 30 sub-windows' histograms.
 *
 * **Window edge.** A sample in sub-window b counts until sub-window b + 30 begins: for
 * s·30 = windowMs, a sample taken at a sub-window's start leaves exactly windowMs later, one
 * taken at its end up to s earlier (the window is windowMs rounded down to whole sub-windows).
 *
 * **Decaying latency.** The recent latency weighs each sub-window's samples by
 * 2^(−age / halfLife), age = how many sub-windows back × s: an exponentially time-decayed mean
 * rather than a per-sample EWMA (value += α·(x − value)). Decay by time, not by sample count,
 * means a figure from minutes ago loses weight whether traffic is heavy or sparse (a per-sample
 * EWMA on a quiet target would keep an hour-old value at full weight), and being built from
 * the sub-window sums it can be computed from counters shared by a fleet. Its granularity is
 * one sub-window (10 s by default); samples older than the window do not count at all.
 *
 * Cost: add() and the totals are O(1) (an expired sub-window costs O(160) once); a snapshot
 * read is O(30 + 160) per latency kind. Memory: about 40 KB per target (two histograms of
 * 30 × 160 32-bit counts).
 */
export class HealthWindow {
  /** Sub-window length, ms. */
  readonly subWindowMs: number;
  /** Newest sub-window index (epoch ms / subWindowMs) seen; -1 before the first. */
  private current = -1;
  /** Sub-window index each slot holds, -1 when empty. */
  private readonly held = new Float64Array(SUB_WINDOWS).fill(-1);
  private readonly attempts = new Float64Array(SUB_WINDOWS);
  private readonly errors = new Float64Array(SUB_WINDOWS);
  private readonly promptTokens = new Float64Array(SUB_WINDOWS);
  private readonly cachedTokens = new Float64Array(SUB_WINDOWS);
  /** [kind × SUB_WINDOWS + slot] */
  private readonly samples = new Float64Array(2 * SUB_WINDOWS);
  private readonly latencySumMs = new Float64Array(2 * SUB_WINDOWS);
  /** [(kind × SUB_WINDOWS + slot) × HISTOGRAM_BUCKETS + bucket] */
  private readonly hist = new Uint32Array(2 * SUB_WINDOWS * HISTOGRAM_BUCKETS);
  /** Decay weight by age in sub-windows. */
  private readonly weight = new Float64Array(SUB_WINDOWS);

  // Window totals.
  totalAttempts = 0;
  totalErrors = 0;
  totalPromptTokens = 0;
  totalCachedTokens = 0;
  private readonly totalSamples = new Float64Array(2);
  /** [kind × HISTOGRAM_BUCKETS + bucket] */
  private readonly totalHist = new Uint32Array(2 * HISTOGRAM_BUCKETS);

  /** @param windowMs health window, ms; @param halfLifeMs half-life of the decaying latency, ms. */
  constructor(windowMs: number, halfLifeMs: number) {
    this.subWindowMs = Math.ceil(windowMs / SUB_WINDOWS);
    for (let age = 0; age < SUB_WINDOWS; age++) this.weight[age] = 2 ** (-(age * this.subWindowMs) / halfLifeMs);
  }

  /** Moves the window to `nowMs` (epoch ms), dropping sub-windows that left it. True when it moved. */
  advance(nowMs: number): boolean {
    const c = Math.floor(nowMs / this.subWindowMs);
    if (c <= this.current) return false;
    if (this.current < 0 || c - this.current >= SUB_WINDOWS) {
      for (let slot = 0; slot < SUB_WINDOWS; slot++) this.expire(slot);
    } else {
      for (let b = this.current + 1; b <= c; b++) this.expire(b % SUB_WINDOWS);
    }
    this.current = c;
    return true;
  }

  /** Counts one attempt's sample (sampleOf) at `atMs`. A sample older than the window is dropped. */
  add(atMs: number, sample: WindowSample): void {
    const { attempt, error, kind, latencyMs, promptTokens, cachedTokens } = sample;
    const b = Math.floor(atMs / this.subWindowMs);
    if (b > this.current) this.advance(atMs);
    if (b <= this.current - SUB_WINDOWS) return;
    const slot = b % SUB_WINDOWS;
    this.held[slot] = b;
    if (attempt) { this.attempts[slot]! += 1; this.totalAttempts += 1; }
    if (error) { this.errors[slot]! += 1; this.totalErrors += 1; }
    if (promptTokens > 0) {
      this.promptTokens[slot]! += promptTokens; this.totalPromptTokens += promptTokens;
      this.cachedTokens[slot]! += cachedTokens; this.totalCachedTokens += cachedTokens;
    }
    if (latencyMs !== undefined) {
      const ks = kind * SUB_WINDOWS + slot;
      const bucket = bucketOf(latencyMs);
      this.samples[ks]! += 1;
      this.latencySumMs[ks]! += latencyMs;
      this.hist[ks * HISTOGRAM_BUCKETS + bucket]! += 1;
      this.totalSamples[kind]! += 1;
      this.totalHist[kind * HISTOGRAM_BUCKETS + bucket]! += 1;
    }
  }

  /** Latency samples of `kind` in the window. */
  sampleCount(kind: LatencyKind): number {
    return this.totalSamples[kind]!;
  }

  /** The q-quantile of `kind`'s latency over the window, ms (histogram.ts's bound); undefined without samples. */
  quantileMs(kind: LatencyKind, q: number): number | undefined {
    return quantileMs(this.totalHist, kind * HISTOGRAM_BUCKETS, this.totalSamples[kind]!, q);
  }

  /** The time-decayed mean latency of `kind`, ms; undefined without samples in the window. */
  decayedLatencyMs(kind: LatencyKind): number | undefined {
    let num = 0;
    let den = 0;
    for (let slot = 0; slot < SUB_WINDOWS; slot++) {
      const b = this.held[slot]!;
      const n = this.samples[kind * SUB_WINDOWS + slot]!;
      if (b < 0 || n === 0) continue;
      const w = this.weight[this.current - b]!;
      num += w * this.latencySumMs[kind * SUB_WINDOWS + slot]!;
      den += w * n;
    }
    return den > 0 ? num / den : undefined;
  }

  /** Forgets the error-rate counts (attempts and errors), keeping latency and tokens: a closed breaker starts afresh. */
  clearErrorCounts(): void {
    this.attempts.fill(0);
    this.errors.fill(0);
    this.totalAttempts = 0;
    this.totalErrors = 0;
  }

  private expire(slot: number): void {
    if (this.held[slot]! < 0) return;
    this.totalAttempts -= this.attempts[slot]!;
    this.totalErrors -= this.errors[slot]!;
    this.totalPromptTokens -= this.promptTokens[slot]!;
    this.totalCachedTokens -= this.cachedTokens[slot]!;
    this.attempts[slot] = 0;
    this.errors[slot] = 0;
    this.promptTokens[slot] = 0;
    this.cachedTokens[slot] = 0;
    for (let kind = 0; kind < 2; kind++) {
      const ks = kind * SUB_WINDOWS + slot;
      const n = this.samples[ks]!;
      if (n > 0) {
        this.totalSamples[kind]! -= n;
        const from = ks * HISTOGRAM_BUCKETS;
        const to = kind * HISTOGRAM_BUCKETS;
        for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
          const count = this.hist[from + i]!;
          if (count !== 0) { this.totalHist[to + i]! -= count; this.hist[from + i] = 0; }
        }
      }
      this.samples[ks] = 0;
      this.latencySumMs[ks] = 0;
    }
    this.held[slot] = -1;
  }
}
