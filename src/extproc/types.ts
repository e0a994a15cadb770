/** The slices of Envoy's ext_proc messages the gateway reads and writes. */
export interface HeaderValueIn {
  key: string;
  value?: string;
  raw_value?: Uint8Array;
}

export interface HttpHeadersIn {
  headers?: { headers?: HeaderValueIn[] };
  end_of_stream?: boolean;
}

export interface HttpBodyIn {
  body?: Uint8Array;
  end_of_stream?: boolean;
}

export interface ExtProcRequest {
  request_headers?: HttpHeadersIn;
  response_headers?: HttpHeadersIn;
  request_body?: HttpBodyIn;
  response_body?: HttpBodyIn;
  request_trailers?: unknown;
  response_trailers?: unknown;
}

export interface HeaderMutationIn {
  set_headers: Array<{ header: { key: string; raw_value: Uint8Array }; append_action: number }>;
  remove_headers: string[];
}

export type StructValue =
  | { nullValue: 0 }
  | { stringValue: string }
  | { numberValue: number }
  | { boolValue: boolean }
  | { listValue: { values: StructValue[] } }
  | { structValue: { fields: Record<string, StructValue> } };

/**
 * ProcessingMode.BodySendMode values (processing_mode.proto), for mode_override.
 * FULL_DUPLEX_STREAMED (Envoy ≥ 1.32) is added to the bundled protos by protos.ts.
 */
export const BodySendMode = { NONE: 0, STREAMED: 1, BUFFERED: 2, FULL_DUPLEX_STREAMED: 4 } as const;

/** A ProcessingResponse as a plain object, encoded by protobufjs. */
export type ExtProcResponse = Record<string, unknown>;

/** Lower-case header name → value, decoded once per message. */
export type HeaderMap = Map<string, string>;

export function readHeaders(msg: HttpHeadersIn | undefined): HeaderMap {
  const map: HeaderMap = new Map();
  const list = msg?.headers?.headers;
  if (!list) return map;
  for (const h of list) {
    // Envoy ≥1.27 sends raw_value; `value` is kept for older data planes.
    const v = h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value.buffer, h.raw_value.byteOffset, h.raw_value.byteLength).toString('latin1') : (h.value ?? '');
    map.set(h.key.toLowerCase(), v);
  }
  return map;
}

const EMPTY_BYTES = new Uint8Array(0);

/** A body field as bytes; protobufjs decodes an absent/empty `bytes` field as a plain empty array. */
export function bodyBytes(body: Uint8Array | undefined): Uint8Array {
  return body instanceof Uint8Array && body.length > 0 ? body : EMPTY_BYTES;
}
