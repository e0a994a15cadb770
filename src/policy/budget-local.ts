import type { NanoUsd, ReserveSpendResult, SpendCharge, SpendReservation, SpendStatus } from '../state/store.ts';

/**
 * Budgets counted in this process while the state backend cannot answer (`onStateError:
 * fail-open`). Each budget starts from the last spent + reserved the store reported to this
 * process (`observe`), then counts what this process admits and settles during the outage; the
 * same all-or-nothing check as the store. Replicas do not see each other's outage spend, so
 * during an outage a budget can be passed by up to (replicas − 1) × its remaining room.
 */
export class LocalSpendLedger {
  /** `partition \0 subject \0 period` → spent + reserved the store last reported. */
  private readonly lastKnown = new Map<string, number>();
  /** Same key → spend settled locally during the outage. */
  private readonly outageSpent = new Map<string, number>();
  /** Same key → request id → amount held locally. */
  private readonly held = new Map<string, Map<string, number>>();

  /**
   * Remembers the store's numbers (from a granted reservation or a refusal) less `own`, the
   * reservation of the request that asked (it is counted here when it settles).
   */
  observe(partition: string, status: SpendStatus, own: NanoUsd): void {
    this.lastKnown.set(key(partition, status.subject, status.period), status.spent + status.reserved - own);
  }

  /** An outage begins: local counts start afresh from the last numbers the store gave. */
  reset(): void {
    this.outageSpent.clear();
    this.held.clear();
  }

  reserve(requestId: string, partition: string, charges: readonly SpendCharge[], estimate: NanoUsd, ttlMs: number, nowMs: number): ReserveSpendResult {
    const statuses: SpendStatus[] = [];
    for (let i = 0; i < charges.length; i++) {
      const c = charges[i]!;
      const k = key(partition, c.subject, c.period);
      let reserved = 0;
      for (const a of this.held.get(k)?.values() ?? []) reserved += a;
      const spent = (this.lastKnown.get(k) ?? 0) + (this.outageSpent.get(k) ?? 0);
      const status: SpendStatus = { subject: c.subject, period: c.period, limit: c.limit, spent, reserved };
      if (c.limit !== null && spent + reserved + estimate > c.limit) return { granted: false, refusedIndex: i, status };
      statuses.push(status);
    }
    for (const c of charges) {
      const k = key(partition, c.subject, c.period);
      let h = this.held.get(k);
      if (!h) this.held.set(k, (h = new Map()));
      h.set(requestId, estimate);
    }
    const reservation: SpendReservation = {
      requestId,
      partition,
      charges: charges.map((c) => ({ subject: c.subject, period: c.period })),
      amount: estimate,
      expiresAt: nowMs + ttlMs,
    };
    return { granted: true, reservation, charges: statuses.map((s) => ({ ...s, reserved: s.reserved + estimate })) };
  }

  /** Drops the local hold; with `actual`, counts it as spent during the outage. */
  settle(r: SpendReservation, actual: NanoUsd | undefined): void {
    for (const c of r.charges) {
      const k = key(r.partition, c.subject, c.period);
      const h = this.held.get(k);
      if (h?.delete(r.requestId) && h.size === 0) this.held.delete(k);
      if (actual !== undefined && actual > 0) this.outageSpent.set(k, (this.outageSpent.get(k) ?? 0) + actual);
    }
  }
}

function key(partition: string, subject: string, period: string): string {
  return `${partition}\0${subject}\0${period}`;
}
