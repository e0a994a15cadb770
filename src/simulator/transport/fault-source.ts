import { z } from 'zod';
import type { Fault } from '../types.ts';

const count = z.number().int().nonnegative();

/** Schema for the `x-sim-fault` request header (replay bodies are strings there). */
const FaultSchema = z.strictObject({
  latencyMs: count.optional(),
  chunkDelayMs: count.optional(),
  chunks: z.number().int().positive().optional(),
  status: z.number().int().min(100).max(599).optional(),
  retryAfter: count.optional(),
  resetBeforeHeaders: z.boolean().optional(),
  resetAfterEvents: count.optional(),
  resetCode: z.number().int().min(0).max(0xffffffff).optional(),
  errorEventAfterEvents: count.optional(),
  resetAfterBytes: count.optional(),
  stallAfterBytes: count.optional(),
  stallAfterEvents: count.optional(),
  stallMs: count.optional(),
  splitBytes: z.union([z.literal('every-byte'), z.literal('random'), z.array(count)]).optional(),
  splitSeed: z.number().int().optional(),
  contentEncoding: z.string().regex(/^[a-z0-9-]{1,32}$/).optional(),
  replay: z
    .strictObject({
      status: z.number().int().min(100).max(599),
      contentType: z.string(),
      body: z.string(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

/** The fault for one request, or why its `x-sim-fault` header was rejected. */
export type PickedFault = { readonly fault: Fault | undefined } | { readonly invalid: string };

/** FIFO of queued faults plus a default; a request's `x-sim-fault` header wins and leaves the queue alone. */
export class FaultSource {
  #queue: Fault[] = [];
  #default: Fault | undefined;

  constructor(initial: Fault | undefined) {
    this.#default = initial;
  }

  enqueue(f: Fault): void {
    this.#queue.push(f);
  }

  setDefault(f: Fault | undefined): void {
    this.#default = f;
  }

  reset(): void {
    this.#queue = [];
    this.#default = undefined;
  }

  /** Call once per request, on arrival, so queued faults keep arrival order. */
  pick(header: string | undefined): PickedFault {
    if (header !== undefined) return parseHeader(header);
    return { fault: this.#queue.shift() ?? this.#default };
  }
}

function parseHeader(header: string): PickedFault {
  let raw: unknown;
  try {
    raw = JSON.parse(header);
  } catch (err) {
    return { invalid: `x-sim-fault is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const result = FaultSchema.safeParse(raw);
  return result.success ? { fault: result.data } : { invalid: `x-sim-fault is not a Fault: ${z.prettifyError(result.error)}` };
}
