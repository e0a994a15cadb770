import { z } from 'zod';

/**
 * gateway.yaml, the single source of truth for providers, models and keys. Types come from
 * z.infer; defaults live here. Unknown keys are refused (strict) so that a typo is an error,
 * not a silently ignored setting.
 */
/** A strict object whose unknown-key error lists the keys that are allowed there. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')} (expected: ${Object.keys(shape).join(', ')})`
        : undefined,
  });
}

const dialectId = z.enum(['openai', 'anthropic', 'gemini']);

/** Headers only the gateway or Envoy may set on a provider request. */
const NEVER_FORWARDED = new Set([
  'authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'anthropic-version', 'proxy-authorization',
  'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer',
  'accept-encoding', 'content-encoding', 'x-request-id',
]);
const forwardableHeaderName = z
  .string()
  .regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'a lower-case HTTP header name')
  .refine((n) => !NEVER_FORWARDED.has(n) && !n.startsWith('x-envoy-') && !n.startsWith('x-llmx-'), {
    message: 'auth, framing, x-request-id, x-envoy-* and x-llmx-* headers are set by the gateway and cannot be forwarded',
  });

const providerSchema = strictObject({
  /** Wire format the provider speaks. */
  dialect: dialectId,
  /** Envoy cluster that reaches it (envoy.yaml); defaults to the provider's name. */
  cluster: z.string().min(1).optional(),
  /** Path prefix before the dialect's own path, e.g. /v1 (OpenAI, Anthropic) or /v1beta (Gemini). */
  basePath: z.string().regex(/^(\/[^/?#\s]+)*$/, 'a path like /v1, without a trailing slash').optional(),
  /** Name of the environment variable that holds the provider's API key. */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
  /** How the key is sent; defaults to the dialect's own scheme. */
  auth: z.enum(['bearer', 'x-api-key', 'x-goog-api-key', 'none']).optional(),
  /**
   * Caller request headers this provider also receives, beyond the gateway's allowlist
   * (e.g. `anthropic-beta`). Only on attempts that go to this provider, never after a failover
   * to another. Auth, framing, Envoy's and the gateway's own headers cannot be listed.
   */
  forwardHeaders: z.array(forwardableHeaderName).max(32).default([]),
});
export type ProviderConfig = z.infer<typeof providerSchema>;

const targetSchema = strictObject({
  provider: z.string().min(1),
  /** The provider's own model name. */
  model: z.string().min(1),
});

const modelSchema = strictObject({
  /** Ordered: the first target is tried first, the rest are fallbacks on 429/5xx/reset. */
  targets: z.array(targetSchema).min(1).max(4, 'at most 4 targets (envoy.yaml has 4 attempt slots)'),
  /** max_tokens sent to providers that require one (Anthropic) when the caller sets none. */
  defaultMaxTokens: z.number().int().min(1).default(4096),
  ownedBy: z.string().default('llm-extproc'),
});
export type ModelConfig = z.infer<typeof modelSchema>;

const keySchema = strictObject({
  name: z.string().min(1),
  team: z.string().min(1).default('default'),
  /** Hex SHA-256 of the key; the key itself never lives in the file. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters (sha256 of the key)').optional(),
  /** Or: the name of an environment variable holding the key (hashed at load, e.g. the demo key). */
  fromEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
}).refine((k) => (k.sha256 === undefined) !== (k.fromEnv === undefined), {
    message: 'exactly one of sha256 or fromEnv is required',
  });

/**
 * What one request body may hold (src/exchange/request-limits.ts); checked on the raw bytes
 * before parsing, each excess a 400 naming the parameter. Bounds what one request costs the
 * ext_proc's event loop, which every other request shares.
 */
export const requestLimitsSchema = strictObject({
  /** Most entries in `messages`. */
  maxMessages: z.number().int().min(1).max(1_000_000).default(4096),
  /** Most content parts over all messages (`messages[i].content` arrays). */
  maxContentParts: z.number().int().min(1).max(1_000_000).default(8192),
  /** Most JSON values (objects, arrays, strings, numbers, booleans, nulls) in a body. */
  maxJsonValues: z.number().int().min(100).max(10_000_000).default(100_000),
}).prefault({});

export const gatewayConfigSchema = strictObject({
  server: strictObject({
    /** host:port of the ext_proc gRPC listener. */
    listen: z.string().default('127.0.0.1:50051'),
    /** Largest request body accepted; larger gets 413. Envoy's buffer limits must be at least this. */
    maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Prometheus metrics listener host:port; empty disables it. */
    metricsListen: z.string().default('127.0.0.1:9464'),
    /** Per-request bounds on what a body holds (requestLimitsSchema). */
    limits: requestLimitsSchema,
  }).prefault({}),
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits, . _ -'), providerSchema),
  models: z.record(z.string().min(1), modelSchema),
  keys: z.array(keySchema).min(1),
});
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type GatewayConfigFile = z.infer<typeof gatewayConfigSchema>;
