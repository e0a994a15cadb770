import type { RateLimitedConfig } from './breaker-schema.ts';

/**
 * A target's cool-down after provider 429s: the provider's `retry-after` when it sent one,
 * else `cooldownMs` doubling with each 429 in a row (1 s, 2 s, 4 s …), every cool-down capped
 * at `maxCooldownMs`. An answer ends the run of 429s; so does a 429 arriving longer than
 * `maxCooldownMs` after the last cool-down ended (the run was over, just not answered).
 */
export class Cooldown {
  /** Epoch ms until which the target cools down (0: never). */
  untilMs = 0;
  /** 429s in a row without `retry-after` (the doubling's exponent). */
  private strikes = 0;

  constructor(private config: RateLimitedConfig) {}

  /** New settings (a config reload); a running cool-down keeps its end. */
  setConfig(config: RateLimitedConfig): void {
    this.config = config;
  }

  onRateLimited(atMs: number, retryAfterMs: number | undefined): void {
    const { cooldownMs, maxCooldownMs } = this.config;
    if (this.untilMs > 0 && atMs > this.untilMs + maxCooldownMs) this.strikes = 0;
    let delay: number;
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
      delay = retryAfterMs;
    } else {
      delay = cooldownMs * 2 ** Math.min(this.strikes, 30);
      this.strikes += 1;
    }
    this.untilMs = Math.max(this.untilMs, atMs + Math.min(delay, maxCooldownMs));
  }

  onAnswer(): void {
    this.strikes = 0;
  }
}
