import type Database from 'better-sqlite3';
import type { NanoUsd, ReserveSpendResult, SpendCharge, SpendReservation, SpendStatus } from '../store.ts';
import { SETTLED_MEMORY_MS } from '../validate.ts';
import { HeldReservations } from './held-reservations.ts';
import type { Db } from './sqlite.ts';

/** Settlements one transaction takes at most; a fuller batch commits at once (bounds the loop's pause). */
const MAX_BATCH = 1024;

interface PendingSettle {
  r: SpendReservation;
  actual: number;
  resolve: (settled: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Budgets, embedded: settled spend in SQLite (durable; read once per budget, then kept in
 * memory since this process is the file's only writer), reservations in memory. A crash loses
 * the requests in flight and the settlements not committed yet: at most the last
 * `commitDelayMs` of them (README, State).
 *
 * A second settle of a reservation adds nothing, also after a restart: each settlement commits a
 * marker row with its spend, keyed by (reservation.expiresAt, partition \0 request id), kept
 * SETTLED_MEMORY_MS (24 h) after the settlement. A repeated settle carries the same reservation
 * value, so the same key; expiresAt leads the key so markers are appended in about time order
 * (a request id alone made every marker a random-leaf B-tree insert, most of the commit's cost).
 * An in-memory set of settled ids would have cost less per commit but not survived a restart,
 * and 24 h of ids at 1,000 requests/s is ~86 million entries, gigabytes of heap.
 */
export class EmbeddedSpendLedger {
  /** `partition \0 subject \0 period` → settled nano-USD (mirror of the table). */
  private readonly spentCache = new Map<string, number>();
  /**
   * same key → the budget's active reservations (running total + expiry heap: O(log n) per
   * call, not a scan). A settlement being committed is held at its actual amount, never expiring.
   */
  private readonly held = new Map<string, HeldReservations>();
  private readonly readSpent: Database.Statement<[string, string, string], { nano_usd: number }>;
  private readonly addSpent: Database.Statement<[string, string, string, number]>;
  private readonly markSettled: Database.Statement<[number, string, number]>;
  private readonly forgetSettled: Database.Statement<[number, number]>;
  /** A file from before `spend_settled_by_expiry`: its markers, honoured until they age out, then the table is dropped. */
  private legacy: LegacyMarkers | undefined;
  private readonly settleTx: (batch: readonly PendingSettle[], now: number) => boolean[];
  private pending: PendingSettle[] = [];
  /** The scheduled commit of `pending` (a timer, or an immediate when commitDelayMs is 0). */
  private commitTimer: { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | undefined;
  private settlesSincePrune = 0;

  /**
   * @param commitDelayMs how long a settlement waits for others to share its commit, ms:
   *   0 = until the end of the event-loop turn; more amortizes the commit (and the WAL pages and
   *   checkpoints it causes) over every settlement of that span. A crash loses what is not
   *   committed yet, so this is also how much settled spend a crash may lose.
   */
  constructor(
    db: Db,
    private readonly now: () => number,
    private readonly commitDelayMs = 0,
  ) {
    this.readSpent = db.prepare('SELECT nano_usd FROM spend WHERE partition = ? AND subject = ? AND period = ?');
    this.addSpent = db.prepare(
      'INSERT INTO spend (partition, subject, period, nano_usd) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (partition, subject, period) DO UPDATE SET nano_usd = nano_usd + excluded.nano_usd',
    );
    // The settled marker's key leads with the reservation's expiresAt (now + TTL at its reserve,
    // so about the order settlements arrive in): an insert appends at the B-tree's right edge.
    // Keyed by request id alone it was a random-leaf insert, ~13 µs per settlement with its
    // WAL pages (bench/policy-steps.ts; README, Performance).
    this.markSettled = db.prepare('INSERT OR IGNORE INTO spend_settled_by_expiry (expires_at, request_id, settled_at) VALUES (?, ?, ?)');
    // The key's range finds the candidates; settled_at keeps a marker settled late (after its
    // reservation expired) for the full SETTLED_MEMORY_MS from its settlement.
    this.forgetSettled = db.prepare('DELETE FROM spend_settled_by_expiry WHERE expires_at < ? AND settled_at < ?');
    this.legacy = LegacyMarkers.open(db);
    // One transaction per batch: each marker and its budgets' spend commit together or not at all.
    // The batch's spend is summed per budget first: one upsert per budget, not one per settlement
    // (a team's requests mostly share their budgets).
    this.settleTx = db.transaction((batch: readonly PendingSettle[], now: number): boolean[] => {
      const sums = new Map<string, { partition: string; subject: string; period: string; nanoUsd: number }>();
      const settled = batch.map(({ r, actual }) => {
        const id = `${r.partition}\0${r.requestId}`;
        if (this.markSettled.run(r.expiresAt, id, now).changes === 0) return false;
        if (this.legacy?.settled(id)) return false;
        for (const c of r.charges) {
          const k = key(r.partition, c.subject, c.period);
          const sum = sums.get(k);
          if (sum) sum.nanoUsd += actual;
          else sums.set(k, { partition: r.partition, subject: c.subject, period: c.period, nanoUsd: actual });
        }
        return true;
      });
      for (const s of sums.values()) this.addSpent.run(s.partition, s.subject, s.period, s.nanoUsd);
      return settled;
    });
  }

  reserve(requestId: string, partition: string, charges: readonly SpendCharge[], estimate: NanoUsd, ttlMs: number): ReserveSpendResult {
    const now = this.now();
    const statuses: SpendStatus[] = [];
    for (let i = 0; i < charges.length; i++) {
      const c = charges[i]!;
      const k = key(partition, c.subject, c.period);
      const held = this.liveHeld(k, now);
      if (held.has(requestId)) throw new RangeError(`request ${requestId} already holds a spend reservation on ${c.subject} ${c.period}`);
      const spent = this.spentOf(k, partition, c.subject, c.period);
      const reserved = held.total;
      const status: SpendStatus = { subject: c.subject, period: c.period, limit: c.limit, spent, reserved };
      if (c.limit !== null && spent + reserved + estimate > c.limit) return { granted: false, refusedIndex: i, status };
      statuses.push(status);
    }
    const expiresAt = now + ttlMs;
    for (const c of charges) this.heldOf(key(partition, c.subject, c.period)).set(requestId, estimate, expiresAt);
    const reservation: SpendReservation = {
      requestId,
      partition,
      charges: charges.map((c) => ({ subject: c.subject, period: c.period })),
      amount: estimate,
      expiresAt,
    };
    return { granted: true, reservation, charges: statuses.map((s) => ({ ...s, reserved: s.reserved + estimate })) };
  }

  /**
   * Group commit: the settlement counts at once (its hold becomes the actual amount, so no
   * reserve in between can overspend), and the promise resolves when it is committed. All
   * settlements of `commitDelayMs` (or of one event-loop turn) share one transaction: a commit
   * is ~25 µs plus, every ~1,000 WAL pages, a checkpoint of milliseconds (fsync), so one commit
   * per settlement costs a request more than the whole policy path may (bench/policy-steps.ts).
   */
  settle(r: SpendReservation, actual: NanoUsd): Promise<boolean> {
    for (const c of r.charges) this.heldOf(key(r.partition, c.subject, c.period)).set(r.requestId, actual, Infinity);
    return new Promise((resolve, reject) => {
      this.pending.push({ r, actual, resolve, reject });
      if (this.pending.length === 1) {
        this.commitTimer = this.commitDelayMs > 0 ? { timeout: setTimeout(() => this.flush(), this.commitDelayMs) } : { immediate: setImmediate(() => this.flush()) };
      }
      else if (this.pending.length >= MAX_BATCH) this.flush();
    });
  }

  /** Commits every pending settlement in one transaction (also called by close()). */
  flush(): void {
    const timer = this.commitTimer;
    this.commitTimer = undefined;
    if (timer && 'timeout' in timer) clearTimeout(timer.timeout);
    else if (timer) clearImmediate(timer.immediate);
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const now = this.now();
    let settled: boolean[];
    try {
      settled = this.settleTx(batch, now);
    } catch (err) {
      // Nothing was committed: drop the holds (the caller learns it from the error) and fail each.
      for (const p of batch) this.release(p.r);
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      this.release(p.r);
      if (!settled[i]) return;
      for (const c of p.r.charges) {
        const k = key(p.r.partition, c.subject, c.period);
        const cached = this.spentCache.get(k);
        if (cached !== undefined) this.spentCache.set(k, cached + p.actual);
      }
    });
    this.settlesSincePrune += batch.length;
    if (this.settlesSincePrune >= 1000) {
      this.settlesSincePrune = 0;
      const before = now - SETTLED_MEMORY_MS;
      this.forgetSettled.run(before, before);
      if (this.legacy && !this.legacy.forget(before)) this.legacy = undefined;
    }
    batch.forEach((p, i) => p.resolve(settled[i]!));
  }

  release(r: SpendReservation): void {
    for (const c of r.charges) {
      const k = key(r.partition, c.subject, c.period);
      const held = this.held.get(k);
      if (!held) continue;
      held.delete(r.requestId);
      if (held.size === 0) this.held.delete(k);
    }
  }

  spent(partition: string, subject: string, period: string): NanoUsd {
    return this.spentOf(key(partition, subject, period), partition, subject, period);
  }

  private spentOf(k: string, partition: string, subject: string, period: string): number {
    let v = this.spentCache.get(k);
    if (v === undefined) {
      v = this.readSpent.get(partition, subject, period)?.nano_usd ?? 0;
      this.spentCache.set(k, v);
    }
    return v;
  }

  private heldOf(k: string): HeldReservations {
    let held = this.held.get(k);
    if (!held) this.held.set(k, (held = new HeldReservations()));
    return held;
  }

  /** The budget's reservations with the due ones expired (each expires once: amortized O(log n)). */
  private liveHeld(k: string, now: number): HeldReservations {
    const held = this.heldOf(k);
    held.expire(now);
    return held;
  }
}

function key(partition: string, subject: string, period: string): string {
  return `${partition}\0${subject}\0${period}`;
}

/**
 * The settled markers of a file written before `spend_settled_by_expiry` (table `spend_settled`,
 * keyed by `partition \0 request id`): still read, so a request settled before the upgrade is not
 * counted again, and pruned on the same schedule; the table is dropped once empty.
 */
class LegacyMarkers {
  private constructor(
    private readonly db: Db,
    private readonly find: Database.Statement<[string], unknown>,
    private readonly prune: Database.Statement<[number]>,
    private readonly any: Database.Statement<[], unknown>,
  ) {}

  /** The file's legacy markers, or undefined when it has none (the empty table is dropped). */
  static open(db: Db): LegacyMarkers | undefined {
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spend_settled'").get() === undefined) return undefined;
    const m = new LegacyMarkers(
      db,
      db.prepare('SELECT 1 FROM spend_settled WHERE request_id = ?'),
      db.prepare('DELETE FROM spend_settled WHERE settled_at < ?'),
      db.prepare('SELECT 1 FROM spend_settled LIMIT 1'),
    );
    return m.dropIfEmpty() ? undefined : m;
  }

  settled(id: string): boolean {
    return this.find.get(id) !== undefined;
  }

  /** Forgets the markers settled before `before` (epoch ms); false once none is left (table dropped). */
  forget(before: number): boolean {
    this.prune.run(before);
    return !this.dropIfEmpty();
  }

  private dropIfEmpty(): boolean {
    if (this.any.get() !== undefined) return false;
    this.db.exec('DROP TABLE spend_settled');
    return true;
  }
}
