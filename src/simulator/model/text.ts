/** Default number of pieces an answer is split into. */
export const DEFAULT_CHUNKS = 8;

const FILLER = 'The simulated model keeps talking so that longer answers stay deterministic and easy to check.'.split(' ');

/** Whitespace-collapsed prefix of `s`, at most `max` code units, never ending inside a surrogate pair. */
export function excerpt(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  return `${flat.slice(0, safeCut(flat, max))}…`;
}

/** Moves a cut position back by one if it would split a surrogate pair. */
export function safeCut(s: string, at: number): number {
  if (at <= 0 || at >= s.length) return Math.max(0, Math.min(at, s.length));
  const c = s.charCodeAt(at);
  return c >= 0xdc00 && c <= 0xdfff ? at - 1 : at;
}

/**
 * Splits `text` into exactly `n` word-aligned pieces (pieces after the first start with a space),
 * appending filler words when the text has fewer than `n` words.
 */
export function splitWords(text: string, n: number): string[] {
  const count = Math.max(1, Math.floor(n));
  const words = text.split(' ');
  for (let i = 0; words.length < count; i++) words.push(FILLER[i % FILLER.length] ?? 'more');
  const pieces: string[] = [];
  let start = 0;
  for (let i = 1; i <= count; i++) {
    const end = Math.round((words.length * i) / count);
    const piece = words.slice(start, end).join(' ');
    pieces.push(i === 1 ? piece : ` ${piece}`);
    start = end;
  }
  return pieces;
}

/** Splits `s` into at most `n` non-empty pieces of near-equal length (surrogate-safe). */
export function splitEven(s: string, n: number): string[] {
  const count = Math.max(1, Math.min(Math.floor(n), s.length));
  const pieces: string[] = [];
  let start = 0;
  for (let i = 1; i <= count; i++) {
    const end = i === count ? s.length : safeCut(s, Math.round((s.length * i) / count));
    if (end > start) pieces.push(s.slice(start, end));
    start = Math.max(start, end);
  }
  return pieces;
}

/** Keeps the pieces up to character `limit` of their concatenation, cutting the last one. */
export function truncatePieces(pieces: readonly string[], limit: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (const p of pieces) {
    if (used >= limit) break;
    if (used + p.length <= limit) {
      out.push(p);
      used += p.length;
      continue;
    }
    const cut = p.slice(0, safeCut(p, limit - used));
    if (cut.length > 0) out.push(cut);
    break;
  }
  return out;
}
