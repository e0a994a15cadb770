import type { Reply } from '../reply.ts';
import type { Fault } from '../types.ts';
import { splitPoints } from './byte-splitter.ts';
import { encodeUnits } from './content-encoding.ts';
import type { Outlet } from './outlet.ts';

/** Abortable delay supplied by the server (rejects when it closes). */
export type Wait = (ms: number) => Promise<void>;

const NO_FAULT: Fault = {};

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function isSse(headers: Record<string, string>): boolean {
  return (headers['content-type'] ?? '').startsWith('text/event-stream');
}

/** Caps an "after N events" fault so it always fires before the last event. */
function cap(n: number | undefined, events: number): number | undefined {
  return n === undefined ? undefined : Math.max(0, Math.min(Math.floor(n), events - 1));
}

/** The units (events) to send, and whether to reset instead of ending afterwards. */
interface Plan {
  readonly units: readonly Buffer[];
  readonly resetAtEnd: boolean;
  /** Pause `stallMs` before this unit (stallAfterEvents). */
  readonly stallBefore?: number;
}

function planStream(reply: Extract<Reply, { kind: 'stream' }>, f: Fault): Plan {
  const total = reply.events.length;
  const resetAt = cap(f.resetAfterEvents, total);
  const errorAt = cap(f.errorEventAfterEvents, total);
  const stallAt = cap(f.stallAfterEvents, total);
  const stall = (sent: number): { stallBefore?: number } => (stallAt !== undefined && stallAt > 0 && stallAt < sent ? { stallBefore: stallAt } : {});
  if (resetAt !== undefined && (errorAt === undefined || resetAt <= errorAt)) {
    return { units: reply.events.slice(0, resetAt).map((e) => Buffer.from(e)), resetAtEnd: true, ...stall(resetAt) };
  }
  if (errorAt !== undefined) {
    return { units: [...reply.events.slice(0, errorAt), reply.errorEvent].map((e) => Buffer.from(e)), resetAtEnd: false, ...stall(errorAt) };
  }
  return { units: reply.events.map((e) => Buffer.from(e)), resetAtEnd: false, ...stall(total) };
}

/**
 * Writes `units` (stream events, or one body) with the fault's pacing: `chunkDelayMs` before each
 * unit after the first, and `splitBytes` cuts across the whole byte sequence with a flush
 * between pieces; then ends, or resets the stream when the plan says so.
 */
async function writePaced(out: Outlet, plan: Plan, f: Fault, wait: Wait): Promise<void> {
  const all = Buffer.concat(plan.units);
  const unitStarts = new Set<number>();
  const bounds = new Set<number>();
  let offset = 0;
  let stallAt = -1;
  for (const [i, u] of plan.units.entries()) {
    if (i === plan.stallBefore) stallAt = offset;
    if (offset > 0) unitStarts.add(offset);
    bounds.add(offset);
    offset += u.length;
  }
  for (const c of splitPoints(all.length, f.splitBytes, f.splitSeed)) bounds.add(c);
  const cuts = [...bounds].filter((b) => b > 0 && b < all.length).sort((x, y) => x - y);
  let start = 0;
  for (const end of [...cuts, all.length]) {
    if (start > 0) {
      if (start === stallAt) await wait(f.stallMs ?? 0);
      else if (unitStarts.has(start) && (f.chunkDelayMs ?? 0) > 0) await wait(f.chunkDelayMs ?? 0);
      else await flush();
    }
    if (out.closed) return;
    if (end > start) await out.write(all.subarray(start, end));
    start = end;
  }
  if (out.closed) return;
  if (!plan.resetAtEnd) return out.end();
  await flush();
  out.reset(f.resetCode);
}

/**
 * A JSON body broken mid-way: the head and the first bytes go out, then a pause
 * (`stallAfterBytes`/`stallMs`) and/or a reset (`resetAfterBytes`). Both offsets are capped at
 * length − 1 so the fault always fires; a reset at or before the stall comes first.
 */
async function writeCutBody(out: Outlet, body: Buffer, f: Fault, wait: Wait): Promise<void> {
  const resetAt = cap(f.resetAfterBytes, body.length);
  const stallAt = cap(f.stallAfterBytes, body.length);
  out.flushHeaders();
  let sent = 0;
  if (stallAt !== undefined && (resetAt === undefined || stallAt < resetAt)) {
    if (stallAt > 0) await out.write(body.subarray(0, stallAt));
    sent = stallAt;
    await wait(f.stallMs ?? 0);
    if (out.closed) return;
  }
  if (resetAt === undefined) return out.end(body.subarray(sent));
  if (resetAt > sent) await out.write(body.subarray(sent, resetAt));
  if (out.closed) return;
  // Let the bytes reach the socket before it is destroyed.
  await flush();
  out.reset(f.resetCode);
}

/** Sends a reply, applying latency, resets, stream faults and split writes. */
export async function deliver(out: Outlet, reply: Reply, fault: Fault | undefined, wait: Wait): Promise<void> {
  const f = fault ?? NO_FAULT;
  if ((f.latencyMs ?? 0) > 0) await wait(f.latencyMs ?? 0);
  if (out.closed) return;
  if (f.resetBeforeHeaders === true) return out.reset(f.resetCode);
  if (reply.kind === 'body') {
    let body: Buffer = Buffer.from(reply.body);
    let replyHeaders = reply.headers;
    if (f.contentEncoding !== undefined) {
      const encoded = await encodeUnits([body], f.contentEncoding);
      body = encoded.units[0]!;
      replyHeaders = { ...replyHeaders, 'content-encoding': encoded.header };
    }
    const headers = isSse(replyHeaders) ? replyHeaders : { ...replyHeaders, 'content-length': String(body.length) };
    out.head(reply.status, headers);
    if (f.resetAfterBytes !== undefined || f.stallAfterBytes !== undefined) return writeCutBody(out, body, f, wait);
    if (f.splitBytes === undefined) return out.end(body);
    return writePaced(out, { units: [body], resetAtEnd: false }, f, wait);
  }
  if (f.contentEncoding !== undefined) {
    // Compressed streams go event by event (one flush each), faults applied to the events first.
    const plan = planStream(reply, f);
    const encoded = await encodeUnits(plan.units, f.contentEncoding);
    out.head(reply.status, { ...reply.headers, 'content-encoding': encoded.header });
    out.flushHeaders();
    return writePaced(out, { ...plan, units: encoded.units }, f, wait);
  }
  out.head(reply.status, reply.headers);
  const paced =
    f.splitBytes !== undefined || (f.chunkDelayMs ?? 0) > 0 || f.resetAfterEvents !== undefined || f.errorEventAfterEvents !== undefined || f.stallAfterEvents !== undefined;
  if (!paced) {
    // Hot path: one write, still chunked (HTTP/1.1) because the head is already stored.
    return out.end(reply.events.join(''));
  }
  out.flushHeaders();
  return writePaced(out, planStream(reply, f), f, wait);
}
