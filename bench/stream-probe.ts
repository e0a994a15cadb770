import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { OVERHEAD_HEADER } from './load.ts';
import type { RequestSpec } from './paths.ts';

/** One streamed response, timed on arrival: every content event gets a timestamp. */
export interface StreamTiming {
  status: number;
  ok: boolean;
  /** The terminal event ([DONE] / message_stop) arrived. */
  complete: boolean;
  /** Request start → first body byte. */
  ttfbMs: number;
  /** Request start → first event carrying answer text (time to first token). */
  ttftMs: number;
  /** Request start → each content event, in order. */
  contentAt: number[];
  /** Request start → end of the body. */
  totalMs: number;
  events: number;
  overheadMs: number | undefined;
  error?: string;
}

type Kind = 'content' | 'done' | 'other';

function classify(event: string, wire: 'openai' | 'anthropic'): Kind {
  if (wire === 'anthropic') {
    if (event.includes('event: message_stop')) return 'done';
    return event.includes('event: content_block_delta') && event.includes('"text_delta"') ? 'content' : 'other';
  }
  const data = event
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).trimStart())
    .join('\n');
  if (data === '[DONE]') return 'done';
  if (data === '') return 'other';
  try {
    const chunk = JSON.parse(data) as { choices?: Array<{ delta?: { content?: unknown } }> };
    const content = chunk.choices?.[0]?.delta?.content;
    return typeof content === 'string' && content.length > 0 ? 'content' : 'other';
  } catch {
    return 'other';
  }
}

/**
 * A small SSE client: sends one streaming request and timestamps the first byte and every
 * content event as its last byte arrives (events are split on blank lines).
 */
export async function probeStream(pool: Pool, spec: RequestSpec): Promise<StreamTiming> {
  const t0 = performance.now();
  const out: StreamTiming = { status: 0, ok: false, complete: false, ttfbMs: Number.NaN, ttftMs: Number.NaN, contentAt: [], totalMs: Number.NaN, events: 0, overheadMs: undefined };
  try {
    const res = await pool.request({ path: spec.path, method: spec.method, headers: spec.headers, body: spec.body });
    out.status = res.statusCode;
    const oh = res.headers[OVERHEAD_HEADER];
    if (typeof oh === 'string') out.overheadMs = Number(oh);
    let buf = '';
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const t = performance.now() - t0;
      if (Number.isNaN(out.ttfbMs)) out.ttfbMs = t;
      buf += chunk.toString('utf8');
      if (buf.includes('\r')) buf = buf.replace(/\r\n/g, '\n');
      let idx: number;
      while ((idx = buf.indexOf('\n\n')) !== -1) {
        const event = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        if (event.trim() === '') continue;
        out.events++;
        const kind = classify(event, spec.wire);
        if (kind === 'content') out.contentAt.push(t);
        else if (kind === 'done') out.complete = true;
      }
    }
    out.totalMs = performance.now() - t0;
    out.ok = out.status >= 200 && out.status < 300 && out.complete && out.contentAt.length > 0;
    out.ttftMs = out.contentAt[0] ?? Number.NaN;
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
  }
  return out;
}

/** Gaps between consecutive content events. */
export function gapsOf(t: StreamTiming): number[] {
  const g: number[] = [];
  for (let i = 1; i < t.contentAt.length; i++) g.push(t.contentAt[i]! - t.contentAt[i - 1]!);
  return g;
}
