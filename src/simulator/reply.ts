/** A complete response body, written at once (or in split pieces). */
export interface BodyReply {
  readonly kind: 'body';
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

/** A 200 SSE stream: `events` are fully framed; `errorEvent` is the provider's in-stream error. */
export interface StreamReply {
  readonly kind: 'stream';
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly events: readonly string[];
  readonly errorEvent: string;
}

/** What the simulator sends for one request. */
export type Reply = BodyReply | StreamReply;
