import type { StateStore } from '../../state/store.ts';
import type { ThinkingBlock, ThinkingTurn } from '../dialect.ts';

/**
 * Anthropic's signed thinking blocks, kept in the state layer between the answer that opened a
 * tool loop and the request that continues it (thinking.ts says why they are needed).
 *
 * Records: namespace `thinking`, id `<team>:<tool_call_id>` (team URL-encoded, so it holds no
 * `:`), one per tool-call id of the answer, each holding the whole turn
 * `{"toolCallIds":[…],"blocks":[…]}` with a TTL. Keyed by team: another team's request naming
 * the same ids finds nothing. Why not inside the tool-call ids, as Gemini's thought signatures
 * are (src/dialects/tool-call-ids.ts): an id would grow by the whole thinking text (kilobytes),
 * in every history the caller keeps and every request it sends.
 */

export const THINKING_NAMESPACE = 'thinking';
/** How long kept blocks can be continued from, ms: 1 h (an agent's tool call rarely takes longer). */
export const DEFAULT_THINKING_TTL_MS = 60 * 60 * 1000;
/** A turn larger than this (UTF-16 code units of its JSON) is not kept; its loop continues without thinking. */
export const MAX_KEPT_TURN_CHARS = 512 * 1024;

/** What the store needs of the state layer. */
export type ThinkingRecords = Pick<StateStore, 'putRecord' | 'getRecord'>;

export type KeepResult = 'kept' | 'too_large';

/**
 * `found`: every id of the answer resolved to the same kept turn, whose ids are exactly these.
 * `missing`: any id did not resolve (expired, never kept here, another team's), or resolved
 * to a turn with other ids.
 */
export type FindResult = { readonly kind: 'found'; readonly turn: ThinkingTurn } | { readonly kind: 'missing' };

export class ThinkingStore {
  constructor(
    private readonly records: ThinkingRecords,
    /** TTL of kept blocks, ms (positive integer). */
    readonly ttlMs: number = DEFAULT_THINKING_TTL_MS,
  ) {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`thinking TTL must be a positive integer (ms), got ${ttlMs}`);
  }

  /**
   * Keeps `turn` under each of its tool-call ids for `ttlMs`. Rejects with the state layer's
   * StateUnavailableError when the backend fails (some ids may then be written: `find` treats
   * such a turn as missing).
   */
  async keep(team: string, turn: ThinkingTurn): Promise<KeepResult> {
    const value = JSON.stringify({ toolCallIds: turn.toolCallIds, blocks: turn.blocks });
    if (value.length > MAX_KEPT_TURN_CHARS) return 'too_large';
    await Promise.all(turn.toolCallIds.map((id) => this.records.putRecord(THINKING_NAMESPACE, recordId(team, id), value, this.ttlMs)));
    return 'kept';
  }

  /**
   * The kept turn of the answer whose tool calls had exactly `toolCallIds` (in order), looked up
   * under every id. Rejects with StateUnavailableError when the backend fails.
   */
  async find(team: string, toolCallIds: readonly string[]): Promise<FindResult> {
    if (toolCallIds.length === 0) return MISSING;
    const values = await Promise.all(toolCallIds.map((id) => this.records.getRecord(THINKING_NAMESPACE, recordId(team, id))));
    const first = values[0];
    // The same record under every id: a partly expired or partly overwritten turn is not used.
    if (first === undefined || values.some((v) => v !== first)) return MISSING;
    const turn = parseTurn(first);
    if (turn === undefined || !sameIds(turn.toolCallIds, toolCallIds)) return MISSING;
    return { kind: 'found', turn };
  }
}

const MISSING: FindResult = Object.freeze({ kind: 'missing' });

export function recordId(team: string, toolCallId: string): string {
  return `${encodeURIComponent(team)}:${toolCallId}`;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** A stored turn, checked field by field (a record is data from outside this process). */
function parseTurn(text: string): ThinkingTurn | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { toolCallIds, blocks } = v as { toolCallIds?: unknown; blocks?: unknown };
  if (!Array.isArray(toolCallIds) || !toolCallIds.every((id) => typeof id === 'string')) return undefined;
  if (!Array.isArray(blocks) || blocks.length === 0) return undefined;
  const out: ThinkingBlock[] = [];
  for (const b of blocks as unknown[]) {
    const block = blockOf(b);
    if (block === undefined) return undefined;
    out.push(block);
  }
  return { toolCallIds: toolCallIds as string[], blocks: out };
}

function blockOf(b: unknown): ThinkingBlock | undefined {
  if (typeof b !== 'object' || b === null) return undefined;
  const r = b as Record<string, unknown>;
  if (r['type'] === 'thinking' && typeof r['thinking'] === 'string' && typeof r['signature'] === 'string') {
    return { type: 'thinking', thinking: r['thinking'], signature: r['signature'] };
  }
  if (r['type'] === 'redacted_thinking' && typeof r['data'] === 'string') return { type: 'redacted_thinking', data: r['data'] };
  return undefined;
}
