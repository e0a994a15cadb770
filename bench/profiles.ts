/** The simulated provider's behaviour, sent with every request as `x-sim-fault`. */
export interface Profile {
  readonly id: 'instant' | 'latency60' | 'stream64';
  readonly label: string;
  readonly stream: boolean;
  readonly fault: { latencyMs?: number; chunks?: number; chunkDelayMs?: number };
  /** Content chunks a stream should carry (stream profiles only). */
  readonly chunks: number;
  /** Open-loop request rates (req/s). */
  readonly rates: readonly number[];
  /** Closed-loop connections for the saturation runs. */
  readonly satConnections: number;
}

/**
 * instant JSON; 60 ms before the answer; a stream of 64 chunks 20 ms apart. Streams run at
 * lower open-loop rates: 200 streams/s of 1.3 s each already keep ~260 streams and
 * ~12,800 chunks/s in flight. `--quick` shortens the stream (8 chunks, 5 ms) to stay fast.
 */
export function profilesFor(quick: boolean): Profile[] {
  return [
    { id: 'instant', label: 'instant JSON', stream: false, fault: { latencyMs: 0 }, chunks: 0, rates: quick ? [200] : [200, 500, 1000], satConnections: 64 },
    { id: 'latency60', label: 'JSON after 60 ms', stream: false, fault: { latencyMs: 60 }, chunks: 0, rates: quick ? [200] : [200, 500, 1000], satConnections: 256 },
    quick
      ? { id: 'stream64', label: 'stream 8 × 5 ms (quick)', stream: true, fault: { chunks: 8, chunkDelayMs: 5 }, chunks: 8, rates: [50], satConnections: 64 }
      : { id: 'stream64', label: 'stream 64 × 20 ms', stream: true, fault: { chunks: 64, chunkDelayMs: 20 }, chunks: 64, rates: [50, 100, 200], satConnections: 256 },
  ];
}
