import type { BreakerReason } from '../view.ts';

/**
 * A breaker state as the fleet shares it (keys.ts `hb:`): the last open or close some replica
 * decided. Half-open is not stored: every replica derives it from `untilMs` passing.
 */
export interface FleetBreakerRecord {
  readonly state: 'open' | 'closed';
  /** The rule that opened it (for a close: the one it had opened for). */
  readonly reason: BreakerReason;
  /** Open: epoch ms when the open period ends; closed: 0. */
  readonly untilMs: number;
  /** Error-count generation (keys.ts): a new one at every close, so the errors that opened the breaker no longer count. */
  readonly gen: string;
  /** Unique per write: a replica adopts a record whose id it has not seen (its own writes included). */
  readonly id: string;
  /** The evidence the deciding replica logged. */
  readonly detail: string;
}

/** The hash fields of a record (HSET's field/value list). */
export function encodeBreaker(r: FleetBreakerRecord): string[] {
  return ['state', r.state, 'reason', r.reason, 'until', String(r.untilMs), 'gen', r.gen, 'id', r.id, 'detail', r.detail];
}

/** A record from HGETALL's reply; undefined when absent or not one of ours (a half-written or foreign hash is ignored). */
export function decodeBreaker(h: Readonly<Record<string, string>> | null | undefined): FleetBreakerRecord | undefined {
  if (h === null || h === undefined) return undefined;
  const { state, reason, until, gen, id, detail } = h;
  if ((state !== 'open' && state !== 'closed') || (reason !== 'latency' && reason !== 'errors')) return undefined;
  const untilMs = Number(until);
  if (!Number.isFinite(untilMs) || gen === undefined || gen === '' || id === undefined || id === '') return undefined;
  return { state, reason, untilMs: state === 'open' ? untilMs : 0, gen, id, detail: detail ?? '' };
}
