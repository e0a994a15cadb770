/**
 * mulberry32: a tiny deterministic pseudo-random generator, so that a seed reproduces a run
 * (split points in the simulators, byte flips in the fuzz script). Returns numbers in [0, 1).
 * Not for anything secret.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
