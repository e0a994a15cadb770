import { createHash } from 'node:crypto';
import { ConfigError } from '../config/errors.ts';
import type { KeyConfig } from '../config/keys-schema.ts';
import { compileScope, type ModelScope } from './model-scope.ts';

/** A key's fields, as gateway.yaml (KeyConfig) and the admin API's store (StoredKey) both hold them. */
export interface KeyFields {
  readonly name: string;
  readonly team: string;
  readonly feature?: string | undefined;
  /** Model-name patterns; absent: every model. */
  readonly models?: readonly string[] | undefined;
  readonly disabled: boolean;
  /** ISO 8601 time. */
  readonly expiresAt?: string | undefined;
  readonly usageCost?: boolean | undefined;
  readonly explain?: boolean | undefined;
}

/** The key as the request path sees it: scope compiled, expiry as epoch ms, optional flags only when on. Frozen. */
export function gatewayKeyOf(k: KeyFields): GatewayKey {
  const expiresAtMs = k.expiresAt === undefined ? undefined : Date.parse(k.expiresAt);
  return Object.freeze({
    name: k.name,
    team: k.team,
    ...(k.feature !== undefined ? { feature: k.feature } : {}),
    scope: compileScope(k.models),
    disabled: k.disabled,
    ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
    ...(k.usageCost === true ? { usageCost: true } : {}),
    ...(k.explain === true ? { explain: true } : {}),
  });
}

/** A gateway key as the request path sees it: who calls (for logs, metrics, limits) and what it may use. */
export interface GatewayKey {
  readonly name: string;
  readonly team: string;
  /** What the key is for (`support-bot`), when configured. */
  readonly feature?: string;
  readonly scope: ModelScope;
  readonly disabled: boolean;
  /** Epoch ms from which the key is refused; undefined = never expires. */
  readonly expiresAtMs?: number;
  /** Answers carry `usage.cost` (USD, OpenRouter's field; src/pricing/usage-cost.ts); opt-in per key. */
  readonly usageCost?: boolean;
  /** May ask for routing explanations (`x-gateway-explain`, src/routing/explain-header.ts); opt-in per key. */
  readonly explain?: boolean;
}

/**
 * Where keys are found by the SHA-256 of their secret, synchronously: gateway.yaml's keys. Keys
 * created through the admin API (stored hashed in the state backend) are found after it, with
 * an asynchronous, cached lookup (StateKeyDirectory, src/policy/state-keys.ts).
 */
export interface KeyDirectory {
  /** The key whose secret hashes to `sha256Hex`, disabled or expired ones included. */
  find(sha256Hex: string): GatewayKey | undefined;
  /** Every key (for pre-rendering what each scope sees). */
  readonly keys: readonly GatewayKey[];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Compiles gateway.yaml `keys:` (already schema-validated). Throws ConfigError naming the path
 * for a duplicate name, the same hash twice (in one key or two), an unset `fromEnv` variable,
 * and a literal scope pattern (no `*`) that names no model or alias (a typo would otherwise
 * silently grant nothing).
 */
export function compileKeys(
  keys: readonly KeyConfig[],
  publicNames: ReadonlySet<string>,
  source: string,
  env: NodeJS.ProcessEnv,
): KeyDirectory & { readonly byHash: ReadonlyMap<string, GatewayKey> } {
  const byHash = new Map<string, GatewayKey>();
  const names = new Map<string, number>();
  const all: GatewayKey[] = [];
  keys.forEach((k, i) => {
    const at = `keys[${i}]`;
    if (names.has(k.name)) throw new ConfigError(source, `${at}.name`, `duplicate key name "${k.name}" (also keys[${names.get(k.name)}])`);
    names.set(k.name, i);
    (k.models ?? []).forEach((p, j) => {
      if (!p.includes('*') && !publicNames.has(p)) {
        throw new ConfigError(source, `${at}.models[${j}]`, `"${p}" names no model or alias (patterns are exact and case-sensitive; use * for a family)`);
      }
    });
    const key = gatewayKeyOf(k);
    const hashes: Array<{ hash: string; path: string }> = [];
    if (k.fromEnv !== undefined) {
      const secret = env[k.fromEnv];
      if (!secret) throw new ConfigError(source, `${at}.fromEnv`, `environment variable ${k.fromEnv} is not set`);
      hashes.push({ hash: sha256Hex(secret), path: `${at}.fromEnv` });
    } else if (typeof k.sha256 === 'string') {
      hashes.push({ hash: k.sha256, path: `${at}.sha256` });
    } else {
      k.sha256!.forEach((hash, j) => hashes.push({ hash, path: `${at}.sha256[${j}]` }));
    }
    for (const { hash, path } of hashes) {
      const other = byHash.get(hash);
      if (other) throw new ConfigError(source, path, `the same key is listed twice (also as "${other.name}")`);
      byHash.set(hash, key);
    }
    all.push(key);
  });
  return Object.freeze({ byHash, keys: Object.freeze(all), find: (hash: string) => byHash.get(hash) });
}
