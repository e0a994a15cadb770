import { loopOpeningCallIds } from '../dialects/anthropic/thinking-loop.ts';
import { DEFAULT_THINKING_TTL_MS, ThinkingStore, type ThinkingRecords } from '../dialects/anthropic/thinking-store.ts';
import type { ThinkingTurn } from '../dialects/dialect.ts';
import { thinkingBudget } from '../dialects/reasoning-effort.ts';
import type { Exchange } from '../exchange/exchange.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { ChatMessage } from '../openai/chat-request.ts';
import { CONTINUE, type PolicyStep, type Verdict } from './pipeline.ts';

/**
 * Claude's thinking across a tool loop, as a policy step (pipeline.ts). At admission it finds
 * the signed thinking blocks the gateway kept from the answer that opened the request's current
 * tool loop (src/dialects/anthropic/thinking-store.ts) and attaches them, with a sink that keeps
 * this request's own answer's blocks, to the request before its first attempt is translated
 * (the Anthropic translation then sends them back, thinking.ts). Never refuses and never
 * answers: a lookup that finds nothing or fails leaves thinking off for that request, which is
 * what a request without kept blocks always got. Steps before it: authentication and scope
 * (the team must be known); its place among the limits does not matter.
 */

/** What the step reads of a request. */
export interface ThinkingView {
  /** Kept blocks are found and kept per team: another team's ids never resolve. */
  readonly team: string;
  readonly messages: readonly ChatMessage[];
}

/** What the step attaches to a request (the Exchange's `anthropicThinking`). */
export interface ThinkingLink {
  /** The kept blocks for the current tool loop's opening answer (TargetContext.keptThinking); undefined when none. */
  readonly kept: ThinkingTurn | undefined;
  /** ResponseContext.onThinking for this request's answer: keeps its blocks, in the background. */
  readonly onThinking: (turn: ThinkingTurn) => void;
}

export interface ThinkingStepIO<T> {
  /** The view when the request may use extended thinking on an Anthropic target, else undefined (the step does nothing). */
  view(request: T): ThinkingView | undefined;
  attach(request: T, link: ThinkingLink): void;
}

/**
 * What happened, for a counter (`gateway_anthropic_thinking_total{result}`) and the
 * log: `restored` (kept blocks found for the loop), `missing` (none found: thinking is off for
 * that request), `lookup_failed` (the state backend failed: same), `kept`, `too_large` (a turn
 * over MAX_KEPT_TURN_CHARS is not kept), `keep_failed`.
 */
export type ThinkingEvent = 'restored' | 'missing' | 'lookup_failed' | 'kept' | 'too_large' | 'keep_failed';

export interface ThinkingStepOptions {
  readonly store: ThinkingStore;
  /** Must not throw. `err` is the backend's error for the `_failed` events. */
  readonly onEvent?: (event: ThinkingEvent, err?: unknown) => void;
}

export function thinkingStep<T, S>(io: ThinkingStepIO<T>, opts: ThinkingStepOptions): PolicyStep<T, S> {
  const { store } = opts;
  const report = opts.onEvent ?? (() => {});
  return {
    id: 'anthropic-thinking',
    admit(request: T): Verdict | Promise<Verdict> {
      const view = io.view(request);
      if (view === undefined) return CONTINUE;
      const { team } = view;
      const onThinking = (turn: ThinkingTurn): void => {
        store.keep(team, turn).then(
          (result) => report(result),
          (err: unknown) => report('keep_failed', err),
        );
      };
      const ids = loopOpeningCallIds(view.messages);
      // Not a continuation (or the first answer of a loop is still to come): nothing to find.
      if (ids === undefined) {
        io.attach(request, { kept: undefined, onThinking });
        return CONTINUE;
      }
      return store.find(team, ids).then(
        (found): Verdict => {
          report(found.kind === 'found' ? 'restored' : 'missing');
          io.attach(request, { kept: found.kind === 'found' ? found.turn : undefined, onThinking });
          return CONTINUE;
        },
        (err: unknown): Verdict => {
          report('lookup_failed', err);
          io.attach(request, { kept: undefined, onThinking });
          return CONTINUE;
        },
      );
    },
  };
}

/**
 * The step's view of an Exchange: its caller's team and messages, when the caller asked for
 * reasoning (`reasoning_effort` other than `none`) and one of the request's planned targets
 * speaks Anthropic. Needs `caller`, `request`, `model` and `plan` set (after authorization and
 * planning).
 */
export const exchangeThinkingIO: ThinkingStepIO<Exchange> = {
  view(ex) {
    const req = ex.request;
    if (ex.caller === undefined || req === undefined || ex.model === undefined || ex.plan === undefined) return undefined;
    // A value thinkingBudget refuses was already a 400 at validation; here it only means "no".
    let budget: number | undefined;
    try {
      budget = thinkingBudget(req.reasoning_effort);
    } catch {
      return undefined;
    }
    if (!budget) return undefined;
    const targets = ex.model.targets;
    if (!ex.plan.targets.some((i) => targets[i]?.provider.dialect.id === 'anthropic')) return undefined;
    return { team: ex.caller.team, messages: req.messages };
  },
  attach(ex, link) {
    ex.anthropicThinking = link;
  },
};

/**
 * The step as the gateway runs it: kept blocks in `state` (namespace `thinking`, TTL `ttlMs`,
 * default 1 h), each event counted in `gateway_anthropic_thinking_total{result}`, backend
 * faults logged as warnings (without the blocks: they are the caller's conversation).
 */
export function gatewayThinkingStep<S>(
  state: ThinkingRecords,
  sinks: { readonly metrics: GatewayMetrics; readonly logger: Logger },
  ttlMs: number = DEFAULT_THINKING_TTL_MS,
): PolicyStep<Exchange, S> {
  return thinkingStep<Exchange, S>(exchangeThinkingIO, {
    store: new ThinkingStore(state, ttlMs),
    onEvent: (event, err) => {
      sinks.metrics.anthropicThinking.inc({ result: event });
      if (err !== undefined) sinks.logger.warn({ err, result: event }, 'Claude thinking blocks: state backend failed; thinking is off for that loop');
    },
  });
}
