import type { Exchange } from '../exchange/exchange.ts';

/**
 * Time to first token for the request log (`time_to_first_token_ms`): from the request's start
 * (the ext_proc's request headers) to the first stream chunk the caller was sent, ms; so a
 * failover's earlier attempts count, as the caller waited through them. Streams only (a JSON
 * answer's first token arrives with its last); undefined when no chunk went out.
 * `latencyMs` and `endedAt` are the line's own (process.hrtime of the stream's close).
 */
export function timeToFirstTokenMs(ex: Exchange, latencyMs: number, endedAt: bigint): number | undefined {
  const first = ex.stream ? ex.lastAttempt?.firstChunkAtMs : undefined;
  if (first === undefined) return undefined;
  // firstChunkAtMs is on performance.now()'s clock, the latency on hrtime's: both monotonic, so
  // the time from the first chunk to the end converts between them.
  const endedAtMono = performance.now() - Number(process.hrtime.bigint() - endedAt) / 1e6;
  return Math.round(Math.max(0, latencyMs - (endedAtMono - first)) * 1000) / 1000;
}
