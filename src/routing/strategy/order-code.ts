import { MAX_ROUTED_TARGETS } from './compile.ts';

/**
 * Attempt orders as small integers, so that equal orders share one frozen array and one plan.
 * The code of an order is Σ (index + 1) · 16^slot: 4 bits per slot, unique for up to 8 targets
 * (16^8 = 2^32, exact in a double). For 4 targets there are 64 non-empty orders.
 */

/** The code of the first `length` entries of `order` (target indexes < MAX_ROUTED_TARGETS). */
export function orderCode(order: ArrayLike<number>, length: number = order.length): number {
  let code = 0;
  let scale = 1;
  for (let slot = 0; slot < length; slot++) {
    code += (order[slot]! + 1) * scale;
    scale *= 16;
  }
  return code;
}

/**
 * Every order seen, by code: at most Σₖ 8!/(8−k)! = 109,600 for 8 targets, 64 for 4; in practice
 * the few orders the configured models produce.
 */
const interned = new Map<number, readonly number[]>();

/** The shared frozen array for the first `length` entries of `buf`; allocates only the first time an order is seen. */
export function internOrder(buf: ArrayLike<number>, length: number): readonly number[] {
  if (length > MAX_ROUTED_TARGETS) throw new RangeError(`an order has at most ${MAX_ROUTED_TARGETS} targets, not ${length}`);
  const code = orderCode(buf, length);
  let order = interned.get(code);
  if (order === undefined) {
    order = Object.freeze(Array.from({ length }, (_, i) => buf[i]!));
    interned.set(code, order);
  }
  return order;
}
