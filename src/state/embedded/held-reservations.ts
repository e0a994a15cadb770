/**
 * One budget's active spend reservations, in memory: request id → amount (nano-USD), their
 * running total, and a min-heap by expiresAt (store-clock ms) so the due ones are found
 * without a scan. Every operation is O(log n) in the reservations held, amortized (the
 * embedded twin of the Redis `st`/`sr`/`sx` keys, src/state/redis/scripts.ts).
 *
 * The heap is lazy: a reservation deleted or replaced leaves its old entry behind, skipped when
 * it surfaces; once stale entries outnumber live ones the heap is rebuilt (O(n), paid by the
 * n/2 deletions since the last rebuild).
 */
export class HeldReservations {
  private readonly byId = new Map<string, Entry>();
  private heap: Entry[] = [];
  /** Sum of the live amounts, nano-USD. */
  private sum = 0;

  get total(): number {
    return this.sum;
  }

  get size(): number {
    return this.byId.size;
  }

  has(requestId: string): boolean {
    return this.byId.has(requestId);
  }

  /** Adds or replaces a reservation; `expiresAt` Infinity: never expires (until deleted). */
  set(requestId: string, amount: number, expiresAt: number): void {
    this.delete(requestId);
    const e: Entry = { requestId, amount, expiresAt };
    this.byId.set(requestId, e);
    this.sum += amount;
    if (expiresAt !== Infinity) this.push(e);
  }

  delete(requestId: string): boolean {
    const e = this.byId.get(requestId);
    if (!e) return false;
    this.byId.delete(requestId);
    this.sum -= e.amount;
    if (this.heap.length > 64 && this.heap.length > 2 * this.byId.size) this.rebuild();
    return true;
  }

  /** Drops every reservation with expiresAt ≤ now (an expired one stops counting at its expiresAt). */
  expire(now: number): void {
    while (this.heap.length > 0 && this.heap[0]!.expiresAt <= now) {
      const e = this.pop();
      if (this.byId.get(e.requestId) === e) {
        this.byId.delete(e.requestId);
        this.sum -= e.amount;
      }
    }
  }

  private rebuild(): void {
    this.heap = [...this.byId.values()].filter((e) => e.expiresAt !== Infinity);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.expiresAt <= e.expiresAt) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= h.length) break;
      if (child + 1 < h.length && h[child + 1]!.expiresAt < h[child]!.expiresAt) child++;
      if (h[child]!.expiresAt >= e.expiresAt) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = e;
  }
}

interface Entry {
  readonly requestId: string;
  readonly amount: number;
  readonly expiresAt: number;
}
