import { z } from 'zod';
import { MODEL_PATTERN_RE } from './model-scope.ts';
import { gatewayKeyOf, type GatewayKey } from './keys.ts';

/**
 * A gateway key created through the admin API, as the state backend stores it: record
 * namespace `gateway-key`, record id the SHA-256 (hex) of the secret, value this JSON. The
 * secret itself is never stored; `hint` keeps its last 4 characters so a listing can show
 * `sk-llmx-...abcd`, as OpenAI's key lists do.
 */
export const GATEWAY_KEY_NAMESPACE = 'gateway-key';

const storedKeySchema = z.object({
  v: z.literal(1),
  /** `key_` + the first 12 hex of the hash: what the admin API names the key by. */
  id: z.string().regex(/^key_[0-9a-f]{12}$/),
  name: z.string().min(1).max(128),
  team: z.string().min(1).max(128),
  feature: z.string().min(1).max(128).optional(),
  models: z.array(z.string().regex(MODEL_PATTERN_RE)).min(1).optional(),
  disabled: z.boolean(),
  /** ISO 8601 UTC; absent: never expires. */
  expiresAt: z.string().optional(),
  /** Answers carry `usage.cost` (src/pricing/usage-cost.ts); absent: no. */
  usageCost: z.boolean().optional(),
  /** May ask for routing explanations (`x-gateway-explain`); absent: no. */
  explain: z.boolean().optional(),
  /** ISO 8601 UTC. */
  createdAt: z.string(),
  hint: z.string().max(8),
});
export type StoredKey = Omit<z.infer<typeof storedKeySchema>, 'v'>;

/** The admin API's id for the key whose secret hashes to `sha256Hex`. */
export function storedKeyId(sha256Hex: string): string {
  return `key_${sha256Hex.slice(0, 12)}`;
}

export function encodeStoredKey(key: StoredKey): string {
  return JSON.stringify({ v: 1, ...key });
}

/** Parses a record value; throws (with the zod issue) on anything else, e.g. a corrupt record. */
export function decodeStoredKey(value: string): StoredKey {
  const { v: _v, ...key } = storedKeySchema.parse(JSON.parse(value));
  return key;
}

/** The key as the request path sees it (src/policy/keys.ts gatewayKeyOf, shared with gateway.yaml's keys). */
export function toGatewayKey(key: StoredKey): GatewayKey {
  return gatewayKeyOf(key);
}
