/** Wire dialect a simulated provider speaks. */
export type SimFormat = 'openai' | 'anthropic' | 'gemini';

/** Misbehaviour to inject into one response; every field is optional and independent. */
export interface Fault {
  /** Delay before the response headers. */
  latencyMs?: number;
  /** Delay between stream events. */
  chunkDelayMs?: number;
  /** Number of pieces the answer is split into (stream events and JSON text); default 8. */
  chunks?: number;
  /** Answer with this HTTP status and the provider's own error body. */
  status?: number;
  /** Seconds, sent as `retry-after` with an error status (Gemini also puts it in RetryInfo). */
  retryAfter?: number;
  /** Destroy the connection (HTTP/1.1) or reset the stream (HTTP/2) before any header. */
  resetBeforeHeaders?: boolean;
  /** Stream only: send this many SSE events, then destroy the connection/stream. */
  resetAfterEvents?: number;
  /**
   * HTTP/2 only: the RST_STREAM error code of every reset above (RFC 9113 §7: 0 NO_ERROR,
   * 2 INTERNAL_ERROR, 7 REFUSED_STREAM, 8 CANCEL, …); default 2 INTERNAL_ERROR.
   */
  resetCode?: number;
  /** Stream only: after this many events send the provider's in-stream error event and end. */
  errorEventAfterEvents?: number;
  /**
   * JSON answers only: send the head (its `content-length` that of the whole body) and this many
   * body bytes (capped at length − 1, so the body is never whole), then destroy the
   * connection/stream. Counts the bytes as sent (after `contentEncoding`).
   */
  resetAfterBytes?: number;
  /**
   * JSON answers only: send the head and this many body bytes (capped at length − 1), then pause
   * `stallMs` before the rest (a reset set at fewer or as many bytes comes first).
   */
  stallAfterBytes?: number;
  /**
   * Stream only: send this many SSE events, then pause `stallMs` before the rest (capped at
   * events − 1 so it always fires; a reset or error event at or before it comes first).
   */
  stallAfterEvents?: number;
  /** Length of the `stallAfterBytes` / `stallAfterEvents` pause, ms (default 0). */
  stallMs?: number;
  /** Write the response bytes in pieces cut at these offsets, with a flush between pieces. */
  splitBytes?: 'every-byte' | 'random' | number[];
  /** Seed for `splitBytes: 'random'` (default 1). */
  splitSeed?: number;
  /**
   * Compress the answer (JSON body, error body or SSE stream, a flush after every event) and
   * send `content-encoding`: `gzip`, `deflate`, `deflate-raw` (raw RFC 1951 data sent as
   * `deflate`, as some servers do) or `br`. Any other value (`zstd`, `x-unknown`) is announced
   * over the uncompressed bytes: a coding the client cannot read. Applies to replays too.
   */
  contentEncoding?: string;
  /** Send exactly these bytes (golden tests). */
  replay?: {
    status: number;
    contentType: string;
    body: Uint8Array | string;
    headers?: Record<string, string>;
  };
}

/** A request as the simulator received it; `body` is parsed JSON, or the raw text if it was not JSON. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  at: number;
}

/** Options for {@link startSimProvider}. */
export interface SimProviderOptions {
  format: SimFormat;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** HTTPS with HTTP/2 (ALPN h2) and HTTP/1.1 fallback. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** When set, requests must carry this key the provider's way. */
  apiKey?: string;
  /** OpenAI and Anthropic default '/v1'; Gemini '/v1beta'. */
  basePath?: string;
  /** Applied when the fault queue is empty. */
  defaultFault?: Fault;
  /** Default true; keeps at most the last 1000 requests. */
  recordRequests?: boolean;
}

/** A running simulated provider. */
export interface SimProvider {
  readonly url: string;
  readonly port: number;
  /** Live array of the most recent requests (oldest first). */
  readonly requests: ReceivedRequest[];
  /** The next request without an `x-sim-fault` header consumes it (FIFO). */
  enqueueFault(f: Fault): void;
  setDefaultFault(f: Fault | undefined): void;
  /** Clears the queue, the default fault and the recorded requests. */
  reset(): void;
  /** Closes the server and every open connection and stream. */
  close(): Promise<void>;
}
