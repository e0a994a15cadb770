/**
 * `concurrent(members)`: independent policy steps admitted at once, as one step of the pipeline
 * (pipeline.ts), so that steps each waiting on the state backend wait for one round trip
 * together instead of one after the other (Redis: the rate-limit reserve and the budget
 * reserve go out in the same event-loop turn; issue 8: "no more than one round trip per phase").
 *
 * - admit: every member's admit is started in member order, before any is awaited. All admit:
 *   continue with their headers merged (member order; a later member's header wins), or the
 *   first member's reply in member order (the others stay admitted and are settled, as the
 *   pipeline does for the steps before a reply). Any refuses: once every started admit has
 *   settled, the members that admitted are released (concurrently) and the **first refusal in
 *   member order** is thrown, so the error a caller sees does not depend on timing. A member
 *   that throws synchronously stops the members after it from starting (nothing to undo).
 *   Synchronous when every member answered synchronously.
 * - release / settle: once per request, to every member that admitted, concurrently.
 *
 * Members must be independent: none may read at admit what another writes at admit (a member
 * reads what it needs synchronously when its admit starts, before any await; the budget step
 * may change the request's model and plan after its reserve, which a member started before it
 * never sees). Member faults in release/settle go to `onFault` with the member's id, and do
 * not stop the other members.
 */
import { CONTINUE, type PolicyStep, type StepFault, type Verdict } from './pipeline.ts';

export interface ConcurrentOptions {
  /** The combined step's id (log field, metric label). Default: the members' ids joined with `+`. */
  readonly id?: string;
  /** Where a member's release/settle fault goes (the pipeline's own handler, in the gateway). */
  readonly onFault: StepFault;
}

type Outcome = { readonly ok: true; readonly verdict: Verdict } | { readonly ok: false; readonly err: unknown };

export function concurrent<T extends object, S>(members: readonly PolicyStep<T, S>[], opts: ConcurrentOptions): PolicyStep<T, S> {
  const id = opts.id ?? members.map((m) => m.id).join('+');
  /** Per admitted request: the members that admitted it, in member order; removed at release/settle (once). */
  const admitted = new WeakMap<T, PolicyStep<T, S>[]>();

  /** Runs `phase` on each member (concurrently); faults reported per member, never thrown. */
  function each(list: readonly PolicyStep<T, S>[], phase: 'release' | 'settle', run: (m: PolicyStep<T, S>) => void | Promise<void>): void | Promise<void> {
    let pending: Promise<void>[] | undefined;
    for (const m of list) {
      try {
        const r = run(m);
        if (r instanceof Promise) (pending ??= []).push(r.catch((err: unknown) => opts.onFault(m.id, phase, err)));
      } catch (err) {
        opts.onFault(m.id, phase, err);
      }
    }
    if (pending) return Promise.all(pending).then(() => undefined);
  }

  const releaseAll = (request: T, list: readonly PolicyStep<T, S>[]): void | Promise<void> =>
    each(list, 'release', (m) => m.release?.(request));

  /**
   * Combines the outcomes of the started members (member order; `outcomes[i]` is `started[i]`'s,
   * plus a last one for a member that threw synchronously): the verdict, or the first refusal,
   * thrown after the members that admitted were released.
   */
  function combine(request: T, started: readonly PolicyStep<T, S>[], outcomes: readonly Outcome[]): Verdict | Promise<Verdict> {
    const ok: PolicyStep<T, S>[] = [];
    let refusal: { err: unknown } | undefined;
    let headers: Record<string, string> | undefined;
    let reply: Verdict | undefined;
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i]!;
      if (!o.ok) {
        refusal ??= { err: o.err };
        continue;
      }
      ok.push(started[i]!);
      if (o.verdict.kind === 'reply') reply ??= o.verdict;
      else if (o.verdict.headers) headers = { ...headers, ...o.verdict.headers };
    }
    if (refusal) {
      const released = releaseAll(request, ok);
      if (released instanceof Promise) return released.then(() => Promise.reject(refusal.err as Error));
      throw refusal.err;
    }
    if (ok.length > 0) admitted.set(request, ok);
    if (reply) return reply;
    return headers ? { kind: 'continue', headers } : CONTINUE;
  }

  return {
    id,
    admit(request: T): Verdict | Promise<Verdict> {
      const started: PolicyStep<T, S>[] = [];
      const results: Array<Verdict | Promise<Verdict>> = [];
      let thrown: { err: unknown } | undefined;
      let async = false;
      for (const m of members) {
        let r: Verdict | Promise<Verdict>;
        try {
          r = m.admit(request);
        } catch (err) {
          thrown = { err };
          break;
        }
        started.push(m);
        results.push(r);
        if (r instanceof Promise) async = true;
      }
      const withThrown = (outcomes: Outcome[]): Outcome[] => {
        // The member that threw is last and never admitted; the ones after it never started.
        if (thrown) outcomes.push({ ok: false, err: thrown.err });
        return outcomes;
      };
      if (!async) return combine(request, started, withThrown(results.map((verdict) => ({ ok: true, verdict: verdict as Verdict }))));
      return Promise.allSettled(results).then((settled) =>
        combine(request, started, withThrown(settled.map((s) => (s.status === 'fulfilled' ? { ok: true, verdict: s.value } : { ok: false, err: s.reason as unknown })))),
      );
    },
    release(request: T): void | Promise<void> {
      const list = admitted.get(request);
      if (!list) return;
      admitted.delete(request);
      return releaseAll(request, list);
    },
    settle(request: T, settlement: S): void | Promise<void> {
      const list = admitted.get(request);
      if (!list) return;
      admitted.delete(request);
      return each(list, 'settle', (m) => m.settle?.(request, settlement));
    },
  };
}
