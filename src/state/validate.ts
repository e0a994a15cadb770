import type { SpendCharge, WindowCharge } from './store.ts';

/**
 * Argument checks both backends run before touching state: a caller bug is a RangeError, never
 * a half-applied reservation or a StateUnavailableError.
 */
export function checkUnits(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

export function checkId(what: string, id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512) throw new RangeError(`${what} must be a string of 1-512 characters`);
}

// On every reserve of both backends, so the valid path allocates nothing: messages are built
// only on a failure, and a repeated charge is found by comparing pairs (a request has a few).
const validId = (id: string): boolean => typeof id === 'string' && id.length > 0 && id.length <= 512;
const validUnits = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

export function checkWindowCharges(charges: readonly WindowCharge[]): void {
  if (charges.length === 0) throw new RangeError('reserve needs at least one charge');
  for (let i = 0; i < charges.length; i++) {
    const c = charges[i]!;
    for (let j = 0; j < i; j++) {
      if (charges[j]!.counter === c.counter && charges[j]!.windowMs === c.windowMs) throw new RangeError(`charges[${i}] repeats counter ${c.counter} over the same window`);
    }
    if (!validId(c.counter)) checkId(`charges[${i}].counter`, c.counter);
    if (!validUnits(c.amount)) checkUnits(`charges[${i}].amount`, c.amount);
    if (!validUnits(c.limit)) checkUnits(`charges[${i}].limit`, c.limit);
    if (!Number.isSafeInteger(c.windowMs) || c.windowMs < 1) throw new RangeError(`charges[${i}].windowMs must be a positive integer (ms)`);
  }
}

export function checkSpendCharges(charges: readonly SpendCharge[]): void {
  if (charges.length === 0) throw new RangeError('reserveSpend needs at least one budget');
  for (let i = 0; i < charges.length; i++) {
    const c = charges[i]!;
    for (let j = 0; j < i; j++) {
      if (charges[j]!.subject === c.subject && charges[j]!.period === c.period) throw new RangeError(`charges[${i}] repeats budget ${c.subject} ${c.period}`);
    }
    if (!validId(c.subject)) checkId(`charges[${i}].subject`, c.subject);
    if (!validId(c.period)) checkId(`charges[${i}].period`, c.period);
    if (c.limit !== null && !validUnits(c.limit)) checkUnits(`charges[${i}].limit (nano-USD)`, c.limit);
  }
}

export function checkTtl(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`${what} must be a positive integer (ms)`);
}

/** How long a settled request id is remembered, so a second settleSpend adds nothing. */
export const SETTLED_MEMORY_MS = 24 * 60 * 60 * 1000;

/** `reserve`'s arguments (both backends). */
export function checkReserve(requestId: string, partition: string, charges: readonly WindowCharge[]): void {
  checkId('requestId', requestId);
  checkId('partition', partition);
  checkWindowCharges(charges);
}

/** `reserveSpend`'s arguments (both backends). */
export function checkReserveSpend(requestId: string, partition: string, charges: readonly SpendCharge[], estimate: number, ttlMs: number): void {
  checkId('requestId', requestId);
  checkId('partition', partition);
  checkSpendCharges(charges);
  checkUnits('estimate (nano-USD)', estimate);
  checkTtl('ttlMs', ttlMs);
}
