import { z } from 'zod';
import { strictObject } from './strict-object.ts';
import { keySchema, publicModelName } from './keys-schema.ts';
import { adminConfigSchema } from '../admin/config.ts';
import { parseListenAddress } from '../extproc/listen-address.ts';
import { pricingSchema, providerPricingSchema } from '../pricing/schema.ts';
import { pricingSettingsSchema } from '../pricing/source-schema.ts';
import { rateLimitsSchema } from '../policy/rate-limit-schema.ts';
import { budgetsSchema } from '../policy/budget-schema.ts';
import { modelCacheModeSchema, responseCacheSettingsSchema } from '../policy/response-cache/cache-config.ts';
import { stateSettingsSchema } from '../state/redis/settings.ts';
import { routingSchema } from '../routing/strategy/routing-schema.ts';
import { healthSchema } from '../routing/health/breaker-schema.ts';
import { upstreamTimeoutsSchema } from '../routing/upstream-timeouts.ts';
import { providerLimitsSchema } from '../routing/limits/provider-limits-schema.ts';
import { observabilitySchema } from '../observability/config.ts';

/**
 * gateway.yaml, the single source of truth for providers, models and keys. Types come from
 * z.infer; defaults live here. Unknown keys are refused (strict) so that a typo is an error,
 * not a silently ignored setting.
 */

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
  /** Which genai-prices catalogue provider prices its models (`providerId`), or `free: true` (src/pricing/schema.ts). */
  pricing: providerPricingSchema.optional(),
  /** The account's limits per provider model, requests and tokens per minute (src/routing/limits/provider-limits-schema.ts). */
  limits: providerLimitsSchema.optional(),
});
export type ProviderConfig = z.infer<typeof providerSchema>;

const targetSchema = strictObject({
  provider: z.string().min(1),
  /** The provider's own model name. */
  model: z.string().min(1),
  /** This target's price override (src/pricing/schema.ts); wins over the model's. */
  pricing: pricingSchema.optional(),
  /** The p95 latency (ms) the cost estimator assumes for this target while it has no measured traffic (src/admin/cost-estimate.ts); wins over the model's. */
  expectedLatencyMs: z.number().int().min(1).max(3_600_000).optional(),
});

const modelSchema = strictObject({
  /** In config order; `routing` decides the attempt order per request (priority: this order). Later attempts are fallbacks on 429/5xx/reset/timeout. */
  targets: z.array(targetSchema).min(1).max(4, 'at most 4 targets (envoy.yaml has 4 attempt slots)'),
  /** max_tokens sent to providers that require one (Anthropic) when the caller sets none. */
  defaultMaxTokens: z.number().int().min(1).default(4096),
  ownedBy: z.string().default('llm-extproc'),
  /** Price override for every target of this model without its own (src/pricing/schema.ts). */
  pricing: pricingSchema.optional(),
  /** Context window, tokens, shown by GET /v1/models; default: the smallest catalogue `context_window` of its targets. */
  contextLength: z.number().int().min(1).max(100_000_000).optional(),
  /** The p95 latency (ms) the cost estimator assumes for its targets without measured traffic or their own figure. */
  expectedLatencyMs: z.number().int().min(1).max(3_600_000).optional(),
  /**
   * More public names for this model (e.g. `cheap`): callers may ask for them, GET /v1/models
   * lists them, scopes grant them by name (src/policy/authorize-model.ts). Unique among model
   * and alias names.
   */
  aliases: z.array(publicModelName).max(32).default([]),
  /** When this model's answers are cached: `auto` (deterministic requests), `on`, `off` (src/policy/response-cache/cache-config.ts). */
  cache: modelCacheModeSchema,
  /** How targets are ordered per request: strategy, weights, constraints (src/routing/strategy/routing-schema.ts); default priority. */
  routing: routingSchema.prefault({}),
  /** Time to first byte per attempt and total, ms, bounded by envoy.yaml's timeouts (src/routing/upstream-timeouts.ts). */
  timeouts: upstreamTimeoutsSchema.prefault({}),
});
export type ModelConfig = z.infer<typeof modelSchema>;

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
    /** The ext_proc gRPC listener: host:port or unix:/abs/path.sock (src/extproc/listen-address.ts). */
    listen: z.string().superRefine((v, ctx) => {
      try {
        parseListenAddress(v, 'server.listen');
      } catch (err) {
        // The loader puts the path in front: the message starts at the value.
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^server\.listen /, '') });
      }
    }).default('127.0.0.1:50051'),
    /** Largest request body accepted; larger gets 413. Envoy's buffer limits must be at least this. */
    maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Prometheus metrics listener host:port; empty disables it. */
    metricsListen: z.string().default('127.0.0.1:9464'),
    /** Per-request bounds on what a body holds (requestLimitsSchema). */
    limits: requestLimitsSchema,
    /** The admin key API (src/admin/config.ts); absent: admin-created keys are not honoured. */
    admin: adminConfigSchema.optional(),
    /** The response cache's switch, TTL and entry size bound (src/policy/response-cache/cache-config.ts). */
    responseCache: responseCacheSettingsSchema,
    /** The state backend's settings: Redis timeouts and key prefix (src/state/redis/settings.ts); REDIS_URL stays in the environment. */
    state: stateSettingsSchema,
  }).prefault({}),
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits, . _ -'), providerSchema),
  models: z.record(publicModelName, modelSchema),
  keys: z.array(keySchema).min(1),
  /** Requests and tokens per minute/day for keys, teams and features (src/policy/rate-limit-schema.ts). */
  rateLimits: rateLimitsSchema,
  /** Spend limits in USD per key, team and feature, soft thresholds and degrade chains (src/policy/budget-schema.ts). */
  budgets: budgetsSchema,
  /** Target health for routing: breakers, 429 cool-down, latency half-life (src/routing/health/breaker-schema.ts), all defaulted. */
  routing: strictObject({ health: healthSchema }).prefault({}),
  /** The price table's refresh source (src/pricing/source-schema.ts); absent: the bundled catalogue. */
  pricing: pricingSettingsSchema,
  /** Request log file and content, spend history retention (src/observability/config.ts), all defaulted. */
  observability: observabilitySchema,
});
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type GatewayConfigFile = z.infer<typeof gatewayConfigSchema>;
