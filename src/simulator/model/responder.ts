import type { Conversation, ToolSpec } from './conversation.ts';
import { valueForSchema, type JsonValue } from './schema-value.ts';
import { structuredText } from './structured.ts';
import { DEFAULT_CHUNKS, excerpt, splitEven, splitWords, truncatePieces } from './text.ts';
import { countTokens } from './tokens.ts';

/** Why the answer ended, in provider-neutral terms. */
export type FinishKind = 'end' | 'length' | 'stop_sequence' | 'tool';

/** A tool call the model decided to make. */
export interface ToolCallAnswer {
  readonly name: string;
  readonly args: JsonValue;
}

/** The model's answer; `pieces` concatenate to `text` (empty for a tool call). */
export interface Answer {
  readonly pieces: readonly string[];
  readonly text: string;
  readonly toolCall: ToolCallAnswer | undefined;
  readonly finish: FinishKind;
  readonly stopSequence: string | null;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Requested piece count, also used to fragment streamed tool arguments. */
  readonly chunks: number;
}

/** Picks the tool to call, or undefined for a text answer. */
function chooseTool(conv: Conversation): ToolSpec | undefined {
  if (conv.tools.length === 0 || conv.toolResults.length > 0) return undefined;
  const mode = conv.toolMode;
  if (mode.kind === 'none') return undefined;
  if (mode.kind === 'required') {
    const allowed = mode.allowed;
    return allowed === undefined ? conv.tools[0] : conv.tools.find((t) => allowed.includes(t.name));
  }
  const said = conv.lastUserText.toLowerCase();
  return said.length === 0 ? undefined : conv.tools.find((t) => said.includes(t.name.toLowerCase()));
}

function answerText(conv: Conversation, choice: number): string {
  // Alternatives differ from the first answer so that callers can tell choices apart.
  const alternative = choice > 0 ? ` Alternative ${choice + 1}.` : '';
  if (conv.toolResults.length > 0) {
    const parts = conv.toolResults.map((r) => `The ${r.name} tool returned ${excerpt(r.content, 160)}.`);
    return `${parts.join(' ')} Based on that result, here is a short simulated answer.${alternative}`;
  }
  const said = excerpt(conv.lastUserText, 80);
  const opener = said.length > 0 ? `You said: "${said}".` : 'Hello!';
  return `${opener} This is a simulated answer, identical for identical requests.${alternative}`;
}

function firstStop(text: string, stops: readonly string[]): { at: number; seq: string } | undefined {
  let best: { at: number; seq: string } | undefined;
  for (const seq of stops) {
    if (seq.length === 0) continue;
    const at = text.indexOf(seq);
    if (at >= 0 && (best === undefined || at < best.at)) best = { at, seq };
  }
  return best;
}

/** What follows a prefill: the answer without the prefix the caller already wrote. */
function continuation(full: string, prefill: string): string {
  return prefill.length > 0 && full.startsWith(prefill) ? full.slice(prefill.length) : full;
}

/**
 * The deterministic "model": a tool call when one is required (or the user names a tool in auto
 * mode), text mentioning the results after a tool turn, otherwise a sentence quoting the user;
 * JSON instead of the text when the request asks for structured output (`conv.output`).
 * `choice` (0-based) numbers the alternative when several are asked for.
 */
export function respond(conv: Conversation, chunks: number | undefined, choice = 0): Answer {
  const n = Math.max(1, Math.floor(chunks ?? DEFAULT_CHUNKS));
  const tool = chooseTool(conv);
  if (tool !== undefined) {
    const args = valueForSchema(tool.schema);
    return {
      pieces: [],
      text: '',
      toolCall: { name: tool.name, args },
      finish: 'tool',
      stopSequence: null,
      promptTokens: conv.promptTokens,
      outputTokens: countTokens(tool.name.length + JSON.stringify(args).length),
      chunks: n,
    };
  }
  const plain = answerText(conv, choice);
  const json = structuredText(conv, plain);
  const full = continuation(json ?? plain, conv.prefill ?? '');
  let pieces = json === undefined ? splitWords(full, n) : splitEven(full, n);
  let finish: FinishKind = 'end';
  let stopSequence: string | null = null;
  const stop = conv.stop.length > 0 ? firstStop(pieces.join(''), conv.stop) : undefined;
  if (stop !== undefined) {
    pieces = truncatePieces(pieces, stop.at);
    finish = 'stop_sequence';
    stopSequence = stop.seq;
  }
  const text = pieces.join('');
  if (conv.maxTokens !== undefined && text.length > conv.maxTokens * 4) {
    pieces = truncatePieces(pieces, conv.maxTokens * 4);
    finish = 'length';
    stopSequence = null;
  }
  const finalText = finish === 'length' ? pieces.join('') : text;
  return {
    pieces,
    text: finalText,
    toolCall: undefined,
    finish,
    stopSequence,
    promptTokens: conv.promptTokens,
    outputTokens: countTokens(finalText.length),
    chunks: n,
  };
}

/** `conv.choices` answers (at least one), as OpenAI `n` and Gemini `candidateCount` ask. */
export function respondAll(conv: Conversation, chunks: number | undefined): Answer[] {
  const count = Math.max(1, Math.floor(conv.choices ?? 1));
  return Array.from({ length: count }, (_, i) => respond(conv, chunks, i));
}
