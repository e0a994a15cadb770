/**
 * Runs the costly steps of large requests one per event-loop turn, so that no other request's
 * ext_proc message waits behind more than one of them.
 *
 * Why: the ext_proc serves every request on one event loop. A large body costs 20–110 ms of
 * it (bench/request-steps.ts: parse, validate, translate, serialize); run inline, 16 of them
 * arriving together hold every small request's message for their sum (~0.4 s, README
 * "Performance"). Here each step is a macrotask (`setImmediate`): between two steps the loop
 * goes back to its I/O poll, where the messages of small requests (whose handlers run in-line)
 * are answered. Steps run oldest job first, so a large request that has started finishes
 * before a later one starts and large requests' own latency stays close to FIFO.
 *
 * This moves no CPU off the loop: it bounds how long one small message can be delayed, to one
 * step (the largest, translating a 16 MB body, is ~65 ms) instead of all queued work.
 */
export interface HeavyJob {
  /** Runs `fn` in its own event-loop turn, after every earlier job's queued steps; resolves with its result or rejects with its error. */
  step<T>(fn: () => T): Promise<T>;
}

interface QueuedStep {
  readonly seq: number;
  readonly run: () => void;
}

export class TurnQueue {
  private readonly queued: QueuedStep[] = [];
  private nextSeq = 0;
  private scheduled = false;

  /** Steps waiting to run (all jobs). */
  get size(): number {
    return this.queued.length;
  }

  /** A job whose steps rank by when the job was created: an older job's steps run first. */
  job(): HeavyJob {
    const seq = this.nextSeq++;
    return { step: <T>(fn: () => T) => this.enqueue(seq, fn) };
  }

  private enqueue<T>(seq: number, fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      };
      // After every step of an older or the same job (stable), before any newer job's. Queues are
      // short (one step per large request in flight), so a linear search is enough.
      let at = this.queued.length;
      while (at > 0 && this.queued[at - 1]!.seq > seq) at--;
      this.queued.splice(at, 0, { seq, run });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queued.length === 0) return;
    this.scheduled = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    this.queued.shift()?.run();
    // The next step goes to the next turn (an immediate queued now runs after the next I/O poll).
    this.schedule();
  };
}

/**
 * Request bodies of at least this many bytes take the heavy-work path (one stage per event-loop
 * turn), and so do their retries' translations. Ordinary chat requests are well below it and stay
 * synchronous; at 64 KiB parsing and translating cost ~1–2 ms, about where queueing starts to
 * pay (bench/request-steps.ts).
 */
export const HEAVY_BODY_BYTES = 64 * 1024;

/** The process's one queue: every large request's steps share it. */
export const heavyWork = new TurnQueue();
