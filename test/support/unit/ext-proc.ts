import assert from 'node:assert/strict';
import type { ExtProcRequest, ExtProcResponse } from '../../../src/extproc/types.ts';

/** Plain ext_proc messages as Envoy sends them (header values as raw_value bytes) and readers for the replies. */
export type HeadersPhase = 'request_headers' | 'response_headers';
export type BodyPhase = 'request_body' | 'response_body';
export type Phase = HeadersPhase | BodyPhase;

export function headersMessage(phase: HeadersPhase, headers: Record<string, string>, endOfStream = false): ExtProcRequest {
  return {
    [phase]: {
      headers: { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) },
      end_of_stream: endOfStream,
    },
  };
}

export function bodyMessage(phase: BodyPhase, body: string | Uint8Array, endOfStream = true): ExtProcRequest {
  return { [phase]: { body: typeof body === 'string' ? Buffer.from(body) : body, end_of_stream: endOfStream } };
}

export interface Mutation {
  set: Record<string, string>;
  /** How often each name was set: a header set twice is a bug. */
  setCount: Map<string, number>;
  remove: string[];
  /** The replacement body, '' for clear_body, undefined when the body is untouched. */
  body: Buffer | undefined;
  clearBody: boolean;
  clearRouteCache: boolean;
}

interface RawMutation {
  set_headers?: Array<{ header: { key: string; raw_value: Uint8Array }; append_action: number }>;
  remove_headers?: string[];
}

function readMutation(hm: RawMutation | undefined): Pick<Mutation, 'set' | 'setCount' | 'remove'> {
  const set: Record<string, string> = {};
  const setCount = new Map<string, number>();
  for (const { header, append_action } of hm?.set_headers ?? []) {
    assert.equal(append_action, 2, `header ${header.key} must be OVERWRITE_IF_EXISTS_OR_ADD`);
    set[header.key] = Buffer.from(header.raw_value).toString('latin1');
    setCount.set(header.key, (setCount.get(header.key) ?? 0) + 1);
  }
  return { set, setCount, remove: [...(hm?.remove_headers ?? [])] };
}

/**
 * A reply the processor gave synchronously. `handle` may return a promise (the router-level
 * processor does while it decodes a compressed stream); these readers are for the sync path.
 */
export function syncReply(res: ExtProcResponse | Promise<ExtProcResponse>): ExtProcResponse {
  assert.ok(!(res instanceof Promise), 'expected a synchronous reply, got a promise');
  return res;
}

/** The CommonResponse of a phase reply; fails if the reply is for another phase or immediate. */
export function phaseMutation(reply: ExtProcResponse | Promise<ExtProcResponse>, phase: Phase): Mutation {
  const res = syncReply(reply);
  assert.equal(res['immediate_response'], undefined, `expected a ${phase} reply, got an immediate response`);
  const keys = Object.keys(res).filter((k) => k !== 'mode_override');
  assert.deepEqual(keys, [phase]);
  const common = (res[phase] as { response?: Record<string, unknown> }).response ?? {};
  const bm = common['body_mutation'] as { body?: Uint8Array; clear_body?: boolean } | undefined;
  return {
    ...readMutation(common['header_mutation'] as RawMutation | undefined),
    body: bm?.body !== undefined ? Buffer.from(bm.body) : bm?.clear_body ? Buffer.alloc(0) : undefined,
    clearBody: bm?.clear_body === true,
    clearRouteCache: common['clear_route_cache'] === true,
  };
}

export interface Immediate {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  details: string;
}

export function immediate(reply: ExtProcResponse | Promise<ExtProcResponse>): Immediate {
  const res = syncReply(reply);
  const ir = res['immediate_response'] as
    | { status: { code: number }; headers?: RawMutation; body: Uint8Array; details: string }
    | undefined;
  assert.ok(ir, `expected an immediate response, got ${Object.keys(res).join(', ')}`);
  const body = Buffer.from(ir.body).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: ir.status.code, headers: readMutation(ir.headers).set, body, json, details: ir.details };
}

/** The OpenAI error object of a body, with all four keys checked present. */
export function openAIError(json: unknown): { message: string; type: string; param: string | null; code: string | null } {
  assert.ok(json && typeof json === 'object' && 'error' in json, `not an OpenAI error body: ${JSON.stringify(json)}`);
  const e = (json as { error: Record<string, unknown> }).error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof e['message'], 'string');
  return e as { message: string; type: string; param: string | null; code: string | null };
}
