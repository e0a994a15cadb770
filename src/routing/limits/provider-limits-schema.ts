import { z } from 'zod';
import { strictObject } from '../../config/strict-object.ts';

/**
 * gateway.yaml `providers.<name>.limits`: the provider account's own limits per provider model
 * (its tier's requests and tokens per minute), which routing keeps each target under
 * (src/routing/limits/provider-limit-step.ts). Same words as `rateLimits:` (rate-limit-schema.ts).
 *
 * ```yaml
 * providers:
 *   openai:
 *     dialect: openai
 *     limits:
 *       gpt-4o-mini: { requestsPerMinute: 500, tokensPerMinute: 200000 }
 * ```
 *
 * Keyed by the provider's model name (a target's `model`), since providers set their limits per
 * model (OpenAI, Anthropic and Gemini all publish per-model tiers). A name that no model's target
 * uses is refused at load (provider-limits.ts), so a typo does not silently limit nothing.
 */

const count = (what: string) =>
  z.number({ error: `${what}: a whole number` }).int(`${what}: a whole number`).min(1, `${what}: at least 1`).max(Number.MAX_SAFE_INTEGER, `${what}: too large`);

export const providerModelLimitsSchema = strictObject({
  /** Requests the provider admits in any 60 s window (its RPM). */
  requestsPerMinute: count('requestsPerMinute').optional(),
  /** Tokens (input + output; reserved as the estimate, settled as reported) in any 60 s window (its TPM). */
  tokensPerMinute: count('tokensPerMinute').optional(),
}).refine((l) => l.requestsPerMinute !== undefined || l.tokensPerMinute !== undefined, {
  message: 'set requestsPerMinute, tokensPerMinute or both',
});
export type ProviderModelLimits = z.infer<typeof providerModelLimitsSchema>;

/** By provider model name. */
export const providerLimitsSchema = z.record(z.string().min(1).max(256), providerModelLimitsSchema);
export type ProviderLimitsConfig = z.infer<typeof providerLimitsSchema>;
