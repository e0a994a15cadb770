/**
 * The policy pipeline: the concerns that decide whether a request may go upstream (scopes,
 * limits, budgets, the response cache), each a step with one narrow interface, run in a fixed
 * order at the request body, after the request is parsed and its plan is known.
 *
 * - `admit` continues (optionally with response headers, e.g. `x-ratelimit-*`), answers the
 *   request from the gateway itself (a cache hit), or refuses by throwing a GatewayError.
 * - When a step refuses, every earlier step that admitted is released, latest first, so nothing
 *   a refused request reserved stays taken (STYLE.md: agentgateway's limiters keep what a later
 *   one refused; here they cannot).
 * - `settle` runs once per admitted step when the request is settled, with what it really used.
 *
 * Steps that answer synchronously (the embedded state) cost no promise: the pipeline only goes
 * asynchronous from the first step that returns one (Redis). Adding a step touches no other.
 */
import type { GatewayError } from '../errors/gateway-error.ts';

/** A reply the gateway makes itself instead of calling a provider (a cache hit). */
export interface GatewayReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The whole body: JSON text, or a complete SSE stream for a streaming request. */
  readonly body: string | Uint8Array;
  /** Envoy's response code details for this reply; starts with `llm_extproc_`. */
  readonly details: string;
}

/** What one step decides. A refusal is not a verdict: it is a thrown GatewayError. */
export type Verdict =
  | { readonly kind: 'continue'; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'reply'; readonly reply: GatewayReply };

export const CONTINUE: Verdict = Object.freeze({ kind: 'continue' });

/**
 * One concern. `T` is what the step sees of a request (the Exchange, in the gateway).
 * `release` and `settle` must not throw; if they do, the pipeline reports it and goes on.
 */
export interface PolicyStep<T, S> {
  /** Stable name: log field and metric label. */
  readonly id: string;
  admit(request: T): Verdict | Promise<Verdict>;
  /** A later step refused or answered, or the request never went upstream: undo what admit took. */
  release?(request: T): void | Promise<void>;
  /** Once, when the request is settled (usage and cost known, or none). */
  settle?(request: T, settlement: S): void | Promise<void>;
}

/** Per request: how many steps admitted it, and the response headers they asked for. */
export interface Admission {
  admitted: number;
  /** Read-only for the request path (it may be a step's own verdict headers): copy to add to it. */
  headers: Readonly<Record<string, string>> | undefined;
  /** Set when a step answered the request itself. */
  reply: GatewayReply | undefined;
}

export type StepFault = (step: string, phase: 'release' | 'settle', err: unknown) => void;

export class PolicyPipeline<T, S> {
  constructor(
    private readonly steps: readonly PolicyStep<T, S>[],
    private readonly onFault: StepFault,
  ) {}

  get size(): number {
    return this.steps.length;
  }

  /**
   * Runs every step in order until one answers or refuses. Returns the admission, synchronously
   * when every step did; throws (or rejects with) the refusing step's GatewayError after the
   * earlier steps were released.
   */
  admit(request: T): Admission | Promise<Admission> {
    const admission: Admission = { admitted: 0, headers: undefined, reply: undefined };
    return this.runFrom(0, request, admission);
  }

  private runFrom(start: number, request: T, admission: Admission): Admission | Promise<Admission> {
    for (let i = start; i < this.steps.length; i++) {
      let verdict: Verdict | Promise<Verdict>;
      try {
        verdict = this.steps[i]!.admit(request);
      } catch (err) {
        return this.refused(request, admission, err);
      }
      if (verdict instanceof Promise) {
        return verdict.then(
          (v) => (this.apply(v, admission) ? admission : this.runFrom(i + 1, request, admission)),
          (err: unknown) => this.refused(request, admission, err),
        );
      }
      if (this.apply(verdict, admission)) return admission;
    }
    return admission;
  }

  /** Records an admitting verdict; true when the request is answered and the pipeline stops. */
  private apply(verdict: Verdict, admission: Admission): boolean {
    admission.admitted++;
    if (verdict.kind === 'reply') {
      admission.reply = verdict.reply;
      return true;
    }
    // The first headers are kept as they are (a step returns a fresh object per verdict, and
    // nothing writes to admission.headers); a later step's are merged into a copy.
    if (verdict.headers) admission.headers = admission.headers ? { ...admission.headers, ...verdict.headers } : verdict.headers;
    return false;
  }

  /** Releases what the admitted steps took, latest first, then rethrows the refusal. */
  private refused(request: T, admission: Admission, err: unknown): never | Promise<never> {
    const released = this.release(request, admission);
    if (released instanceof Promise) return released.then(() => Promise.reject(err as GatewayError));
    throw err;
  }

  /**
   * Undoes every admitted step (latest first): for a request refused later, or one that was
   * admitted but never went upstream. Idempotent: the admission is emptied.
   */
  release(request: T, admission: Admission): void | Promise<void> {
    const upTo = admission.admitted;
    admission.admitted = 0;
    let chain: Promise<void> | undefined;
    for (let i = upTo - 1; i >= 0; i--) {
      const step = this.steps[i]!;
      if (!step.release) continue;
      const run = (): void | Promise<void> => this.guard(step, 'release', () => step.release!(request));
      if (chain) chain = chain.then(run);
      else {
        const r = run();
        if (r instanceof Promise) chain = r;
      }
    }
    return chain;
  }

  /** Settles every admitted step once (in order). Never throws; faults go to onFault. */
  settle(request: T, admission: Admission, settlement: S): void | Promise<void> {
    const upTo = admission.admitted;
    admission.admitted = 0;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < upTo; i++) {
      const step = this.steps[i]!;
      if (!step.settle) continue;
      const r = this.guard(step, 'settle', () => step.settle!(request, settlement));
      if (r instanceof Promise) pending.push(r);
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
  }

  private guard(step: PolicyStep<T, S>, phase: 'release' | 'settle', fn: () => void | Promise<void>): void | Promise<void> {
    try {
      const r = fn();
      if (r instanceof Promise) return r.catch((err: unknown) => this.onFault(step.id, phase, err));
    } catch (err) {
      this.onFault(step.id, phase, err);
    }
  }
}
