/**
 * Plain-object builders for ext_proc ProcessingResponse messages (protobufjs encodes plain
 * objects with the protos' field names). Only this folder knows Envoy's message shapes.
 */
import type { ExtProcResponse, HeaderMutationIn, StructValue } from './types.ts';

export interface HeaderChanges {
  set?: Record<string, string>;
  remove?: string[];
}

function headerMutation(changes: HeaderChanges | undefined): HeaderMutationIn | undefined {
  if (!changes) return undefined;
  const set = changes.set ? Object.entries(changes.set) : [];
  if (set.length === 0 && !changes.remove?.length) return undefined;
  return {
    set_headers: set.map(([key, value]) => ({
      header: { key, raw_value: Buffer.from(value) },
      // OVERWRITE_IF_EXISTS_OR_ADD: a value the client sent must never survive next to ours.
      append_action: 2,
    })),
    remove_headers: changes.remove ?? [],
  };
}

export interface CommonOptions {
  headers?: HeaderChanges;
  /** Replace the body (or this streamed chunk) with these bytes. */
  body?: string | Uint8Array;
  clearRouteCache?: boolean;
}

function common(opts: CommonOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const hm = headerMutation(opts.headers);
  if (hm) out.header_mutation = hm;
  if (opts.body !== undefined) {
    const bytes = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    out.body_mutation = bytes.length === 0 ? { clear_body: true } : { body: bytes };
  }
  if (opts.clearRouteCache) out.clear_route_cache = true;
  return out;
}

type Phase = 'request_headers' | 'response_headers' | 'request_body' | 'response_body';

export function phaseResponse(phase: Phase, opts: CommonOptions = {}): ExtProcResponse {
  return { [phase]: { response: common(opts) } };
}

/**
 * A response body chunk in the FULL_DUPLEX_STREAMED body mode (BodyMutation.streamed_response):
 * Envoy passes `body` on to the caller as it is (nothing when empty) and, with `endOfStream`,
 * ends the caller's body there. In that mode Envoy never sends the provider's bytes on itself:
 * every byte the caller gets is one the processor sent this way, at any time.
 */
export function streamedBodyResponse(body: string | Uint8Array, endOfStream: boolean): ExtProcResponse {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return { response_body: { response: { body_mutation: { streamed_response: { body: bytes, end_of_stream: endOfStream } } } } };
}

/** Not a message: what a processor returns when Envoy expects no answer (server.ts sends nothing). */
export const NO_RESPONSE: ExtProcResponse = Object.freeze({});

/** Ends the request here with a response of the gateway's own (errors, /v1/models). */
export function immediateResponse(status: number, headers: Record<string, string>, body: string | Uint8Array, details: string): ExtProcResponse {
  return {
    immediate_response: {
      status: { code: status },
      headers: headerMutation({ set: headers }),
      body: Buffer.from(body),
      details,
    },
  };
}

/** google.protobuf.Struct from a JSON-like value (protobufjs' bundled Struct uses camelCase). */
export function toStructValue(value: unknown): StructValue {
  if (value === null || value === undefined) return { nullValue: 0 };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toStructValue) } };
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) fields[k] = toStructValue(v);
  return { structValue: { fields } };
}

export function toStruct(obj: Record<string, unknown>): { fields: Record<string, StructValue> } {
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toStructValue(v);
  return { fields };
}
