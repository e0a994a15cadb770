/** Tokens charged per image, whatever its size (OpenAI's low-detail price). */
export const IMAGE_TOKENS = 85;

/** The simulator's tokenizer: one token per four UTF-16 code units, rounded up. */
export function countTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Accumulates the prompt size while a request is normalised. */
export class PromptCounter {
  #chars = 0;
  #images = 0;

  text(s: string): void {
    this.#chars += s.length;
  }

  json(v: unknown): void {
    if (v === undefined) return;
    this.#chars += typeof v === 'string' ? v.length : JSON.stringify(v).length;
  }

  image(): void {
    this.#images += 1;
  }

  /** `ceil(chars / 4) + 85 * images`. */
  get tokens(): number {
    return countTokens(this.#chars) + IMAGE_TOKENS * this.#images;
  }
}
