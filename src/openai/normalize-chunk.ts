import type { UpstreamError } from '../errors/gateway-error.ts';
import { sseData } from '../sse/sse-encoder.ts';
import type { FinishReason, OpenAIUsage } from './chat-response.ts';
import { ERROR_FINISH, normalizeFinishReason } from './finish-reason.ts';
import { providerFinishError, type CompletionLabel } from './normalize-completion.ts';
import { sanitizeUsage } from './provider-usage.ts';
import { fromOpenAIUsage, type Usage } from './usage.ts';
import { argumentsOf, contentOf, fillToolCallId, isRecord, logprobsOf, optional, stringOrNull, type Json } from './schema-parts.ts';

/** Where a stream's chunks go, and whether the caller asked for the usage chunk. */
export interface ChunkLabel extends CompletionLabel {
  includeUsage: boolean;
  /** USD cost of a usage when the key opted in to `usage.cost` (src/pricing/usage-cost.ts); the usage chunk then carries it. */
  costOf?: (usage: Usage) => number;
}

/** What one stream has said about one choice so far. */
interface ChoiceState {
  roleSent: boolean;
  finished: boolean;
  /** Tool-call indexes opened so far; the last one receives fragments that name no index. */
  toolCalls: Set<number>;
  lastToolCall: number | undefined;
  /** Tool-call indexes whose name has been seen. */
  named: Set<number>;
}

/** Delta keys the schema defines; anything else (e.g. `reasoning_content`) passes as sent. */
const DELTA_KEYS = new Set(['role', 'content', 'refusal', 'tool_calls', 'function_call']);
/** Delta strings that are generated text; `reasoning_content` (DeepSeek, vLLM) and `reasoning` (OpenRouter) are billed as output. */
const TEXT_KEYS = ['content', 'refusal', 'reasoning_content', 'reasoning'] as const;

/**
 * Makes an OpenAI-compatible provider's stream chunks fit the OpenAI schema, one chunk at a
 * time (state is per stream, a few fields per choice; nothing is buffered):
 * - every chunk carries the gateway's id, the public model, one `created` (the provider's first
 *   integer one, else the gateway's), `object: "chat.completion.chunk"`;
 * - each choice gets its `index`, `logprobs` (null unless well-formed), a finish reason among
 *   OpenAI's five or null; the first delta of each choice carries `role: "assistant"`; a second
 *   finish for the same choice is cleared; tool-call fragments get their `index` (and a new call
 *   its `id` and `type`);
 * - usage is never relayed in place: whichever shape the provider used (a chunk with
 *   `choices: []`, one without `choices`, usage on the finish chunk), the latest usable usage is
 *   kept and {@link tail} emits it once, as OpenAI does, after the finish chunks, only when the
 *   caller asked for it (`stream_options.include_usage`), with `usage: null` on every other chunk;
 * - a chunk with nothing left to say is dropped.
 */
export class ChunkNormalizer {
  private readonly choices = new Map<number, ChoiceState>();
  private created: number | undefined;
  private latestUsage: OpenAIUsage | undefined;

  /** `onText` sees every piece of generated text relayed (content, refusal, reasoning, tool names and arguments), for estimates. */
  constructor(
    private readonly label: ChunkLabel,
    private readonly onText: (text: string) => void = () => undefined,
  ) {}

  /** The latest usage the provider reported in a form the gateway can stand behind. */
  get usage(): OpenAIUsage | undefined {
    return this.latestUsage;
  }

  /** At least one choice was seen, and every choice seen has finished. */
  get complete(): boolean {
    return this.choices.size > 0 && [...this.choices.values()].every((s) => s.finished);
  }

  get sawChoice(): boolean {
    return this.choices.size > 0;
  }

  /**
   * One parsed provider chunk → SSE text ('' when nothing is left of it), plus the error to
   * end the stream with when the provider declared an `error` finish (the chunk's content is
   * still emitted before it).
   */
  chunk(raw: Json): { text: string; error?: UpstreamError } {
    this.created ??= optional.created(raw['created']) ?? this.label.created;
    const usage = sanitizeUsage(raw['usage']);
    if (usage) this.latestUsage = usage;
    let failed = false;
    const out: Json[] = [];
    const choices = Array.isArray(raw['choices']) ? raw['choices'] : [];
    choices.forEach((c: unknown, position) => {
      if (!isRecord(c)) return;
      const index = typeof c['index'] === 'number' && Number.isSafeInteger(c['index']) && c['index'] >= 0 ? c['index'] : position;
      const state = this.state(index);
      const delta = this.delta(isRecord(c['delta']) ? c['delta'] : {}, state, index);
      let finish: FinishReason | typeof ERROR_FINISH | null = normalizeFinishReason(c['finish_reason'], { hasToolCalls: state.toolCalls.size > 0 });
      if (finish === ERROR_FINISH) {
        failed = true;
        finish = null;
      }
      if (state.finished) finish = null;
      const logprobs = logprobsOf(c['logprobs']);
      if (Object.keys(delta).length === 0 && finish === null && logprobs === null) return;
      if (finish !== null) state.finished = true;
      out.push({ index, delta, logprobs, finish_reason: finish });
    });
    const text = out.length > 0 ? this.write(raw, out) : '';
    return failed ? { text, error: providerFinishError() } : { text };
  }

  /** Before `[DONE]`: a finish chunk for every choice the provider left open, then the usage chunk if asked. */
  tail(): string {
    let out = '';
    for (const [index, state] of [...this.choices.entries()].sort(([a], [b]) => a - b)) {
      if (state.finished) continue;
      state.finished = true;
      out += this.write({}, [{ index, delta: {}, logprobs: null, finish_reason: state.toolCalls.size > 0 ? 'tool_calls' : 'stop' }]);
    }
    if (this.label.includeUsage && this.latestUsage) out += this.write({}, [], this.costed(this.latestUsage));
    return out;
  }

  /** The usage chunk's usage, with `cost` when the key opted in (priced from the same counts the request settles with). */
  private costed(usage: OpenAIUsage): OpenAIUsage {
    const costOf = this.label.costOf;
    const counted = costOf && fromOpenAIUsage(usage);
    return counted ? { ...usage, cost: costOf(counted) } : usage;
  }

  private state(index: number): ChoiceState {
    let s = this.choices.get(index);
    if (!s) {
      s = { roleSent: false, finished: false, toolCalls: new Set(), lastToolCall: undefined, named: new Set() };
      this.choices.set(index, s);
    }
    return s;
  }

  private delta(raw: Json, state: ChoiceState, choice: number): Json {
    const out: Json = {};
    // Every choice opens with the role (OpenAI's first chunk does); later ones keep it only if
    // the provider repeats it, as the answer's author whatever the server calls it.
    if (!state.roleSent || typeof raw['role'] === 'string') out['role'] = 'assistant';
    state.roleSent = true;
    if ('content' in raw) {
      const content = contentOf(raw['content']);
      if (content !== null || raw['content'] === null) out['content'] = content;
    }
    if ('refusal' in raw) out['refusal'] = stringOrNull(raw['refusal']);
    if (isRecord(raw['function_call'])) {
      const fc = raw['function_call'];
      const fn: Json = {};
      if (typeof fc['name'] === 'string') fn['name'] = fc['name'];
      const args = argumentsOf(fc['arguments']);
      if (args !== undefined) fn['arguments'] = args;
      out['function_call'] = fn;
    }
    const calls = Array.isArray(raw['tool_calls']) ? raw['tool_calls'].filter(isRecord).map((call) => this.toolCall(call, state, choice)) : [];
    if (calls.length > 0) out['tool_calls'] = calls;
    for (const [key, value] of Object.entries(raw)) if (!DELTA_KEYS.has(key)) out[key] = value;
    for (const key of TEXT_KEYS) if (typeof out[key] === 'string') this.onText(out[key]);
    return out;
  }

  private toolCall(call: Json, state: ChoiceState, choice: number): Json {
    const given = typeof call['index'] === 'number' && Number.isSafeInteger(call['index']) && call['index'] >= 0 ? call['index'] : undefined;
    const hasId = typeof call['id'] === 'string' && call['id'] !== '';
    const fn = isRecord(call['function']) ? call['function'] : undefined;
    const name = typeof fn?.['name'] === 'string' ? fn['name'] : undefined;
    // Without an index: an id, or a name when the last call has one, opens the next call (both
    // come only in a call's first fragment); anything else continues the last call.
    const last = state.lastToolCall;
    const opensNext = last === undefined || hasId || (name !== undefined && state.named.has(last));
    const index = given ?? (opensNext ? state.toolCalls.size : last);
    const opening = !state.toolCalls.has(index);
    state.toolCalls.add(index);
    state.lastToolCall = index;
    if (name !== undefined) state.named.add(index);
    const out: Json = { index };
    if (hasId) out['id'] = call['id'];
    else if (opening) out['id'] = fillToolCallId(this.label.id, choice, index);
    if (opening || call['type'] !== undefined) out['type'] = 'function';
    if (fn) {
      const f: Json = {};
      if (name !== undefined) f['name'] = name;
      const args = argumentsOf(fn['arguments']);
      if (args !== undefined) f['arguments'] = args;
      out['function'] = f;
      this.onText(`${(f['name'] as string | undefined) ?? ''}${args ?? ''}`);
    }
    return out;
  }

  private write(raw: Json, choices: Json[], usage?: OpenAIUsage): string {
    const chunk: Json = {
      id: this.label.id,
      object: 'chat.completion.chunk',
      created: this.created ?? this.label.created,
      model: this.label.publicModel,
    };
    const fingerprint = optional.string(raw['system_fingerprint']);
    if (fingerprint !== undefined) chunk['system_fingerprint'] = fingerprint;
    const tier = optional.serviceTier(raw['service_tier']);
    if (tier !== undefined) chunk['service_tier'] = tier;
    chunk['choices'] = choices;
    if (this.label.includeUsage) chunk['usage'] = usage ?? null;
    const obfuscation = optional.string(raw['obfuscation']);
    if (obfuscation !== undefined) chunk['obfuscation'] = obfuscation;
    return sseData(chunk);
  }
}
