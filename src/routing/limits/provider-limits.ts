import { ConfigError } from '../../config/errors.ts';
import type { LimitUnit } from '../../policy/rate-limit-config.ts';
import { targetKey, type TargetKey } from '../health/view.ts';
import type { ProviderLimitsConfig } from './provider-limits-schema.ts';

const MINUTE_MS = 60_000;

/** One provider limit, compiled: a counter in the state layer (`provider:<name>/<model>/rpm`) and its window. */
export interface ProviderLimitRule {
  readonly unit: LimitUnit;
  /** State-layer counter id: `provider:<provider>/<provider model>/rpm` or `/tpm`. */
  readonly counter: string;
  /** 60_000: the providers publish per-minute limits. */
  readonly windowMs: number;
  /** Most requests or tokens in any window. */
  readonly limit: number;
  /** For explanations: `rpm` or `tpm`. */
  readonly short: 'rpm' | 'tpm';
}

/** The provider limits as the request path reads them (RuntimeConfig `providerLimits`). */
export interface ProviderLimitPolicy {
  /** True when no provider sets limits (the step then costs one check). */
  readonly empty: boolean;
  /** The limits of one target (`<provider>/<provider model>`), in a shared frozen array (empty: none). */
  rulesFor(key: TargetKey): readonly ProviderLimitRule[];
  /** The state-layer partition every counter of this provider is charged under (one Redis Cluster slot per provider). */
  partitionOf(provider: string): string;
}

const NONE: readonly ProviderLimitRule[] = Object.freeze([]);

/**
 * Compiles every provider's `limits:` (already schema-validated). `targets` are the
 * `<provider>/<provider model>` keys some model routes to; a limit for any other is a
 * ConfigError naming its path (a typo would otherwise limit nothing).
 */
export function compileProviderLimits(
  providers: Readonly<Record<string, { readonly limits?: ProviderLimitsConfig | undefined }>>,
  targets: ReadonlySet<TargetKey>,
  source: string,
): ProviderLimitPolicy {
  const byTarget = new Map<TargetKey, readonly ProviderLimitRule[]>();
  for (const [provider, p] of Object.entries(providers)) {
    for (const [model, l] of Object.entries(p.limits ?? {})) {
      const key = targetKey(provider, model);
      if (!targets.has(key)) throw new ConfigError(source, `providers.${provider}.limits.${model}`, `no model's target uses ${key} (targets: { provider: ${provider}, model: ${model} })`);
      const rules: ProviderLimitRule[] = [];
      if (l.requestsPerMinute !== undefined) rules.push(Object.freeze({ unit: 'requests', counter: `provider:${key}/rpm`, windowMs: MINUTE_MS, limit: l.requestsPerMinute, short: 'rpm' }));
      if (l.tokensPerMinute !== undefined) rules.push(Object.freeze({ unit: 'tokens', counter: `provider:${key}/tpm`, windowMs: MINUTE_MS, limit: l.tokensPerMinute, short: 'tpm' }));
      byTarget.set(key, Object.freeze(rules));
    }
  }
  const empty = byTarget.size === 0;
  return Object.freeze({
    empty,
    rulesFor: (key: TargetKey) => (empty ? NONE : (byTarget.get(key) ?? NONE)),
    partitionOf: (provider: string) => `provider:${provider}`,
  });
}

/** No provider limits (a config without any, and unit tests). */
export const NO_PROVIDER_LIMITS: ProviderLimitPolicy = compileProviderLimits({}, new Set(), '(none)');
