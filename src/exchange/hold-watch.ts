/**
 * Watches answers the router-level processor holds back (a request's headers until its body is
 * in; a JSON response's headers until its body is in). Envoy times each message out after
 * envoy.yaml's message_timeout (5 s), and a slow upload or a provider that sends its headers
 * long before its body would hit that. A hold that lasts `extendAfterMs` gets `onOverdue` called
 * once, which asks Envoy for more time (override_message_timeout, up to max_message_timeout).
 * One interval for all requests: the common hold lasts microseconds and costs a Map entry, not a
 * timer.
 */
export class HoldWatch {
  private readonly holds = new Map<object, { since: number; onOverdue: () => void }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly extendAfterMs = 2000,
    intervalMs = 500,
  ) {
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  watch(key: object, onOverdue: () => void): void {
    this.holds.set(key, { since: Date.now(), onOverdue });
  }

  unwatch(key: object): void {
    this.holds.delete(key);
  }

  get size(): number {
    return this.holds.size;
  }

  /** Calls and forgets every hold older than extendAfterMs (exposed for tests). */
  sweep(now = Date.now()): void {
    for (const [key, hold] of this.holds) {
      if (now - hold.since < this.extendAfterMs) continue;
      this.holds.delete(key);
      hold.onOverdue();
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.holds.clear();
  }
}
