/**
 * The gateway's token estimate for text it saw but no provider counted: ⌈UTF-16 code units / 4⌉,
 * OpenAI's rule of thumb for English ("a token is about 4 characters",
 * https://help.openai.com/en/articles/4936856). Only used where the provider sent no count of its
 * own, and always reported as an estimate.
 */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}
