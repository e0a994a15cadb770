import type { ObservabilitySettings } from '../observability/config.ts';
import type { Dialect } from '../dialects/dialect.ts';
import type { RequestLimits } from '../exchange/request-limits.ts';
import { dialects } from '../dialects/registry.ts';
import { buildRoutingPlan, type RoutingPlan } from '../routing/plan.ts';
import { permittedModel } from '../policy/authorize-model.ts';
import { compileKeys, type GatewayKey, type KeyDirectory } from '../policy/keys.ts';
import { buildModelCatalog, type ModelCatalog } from '../policy/model-catalog.ts';
import { UNRESTRICTED_SCOPE } from '../policy/model-scope.ts';
import { compileRateLimits, type RateLimitPolicy } from '../policy/rate-limit-config.ts';
import { compileBudgets, type BudgetPolicy } from '../policy/budget-config.ts';
import { resolveProviderPricing, resolveTargetPrice, type ProviderPricing } from '../pricing/resolve.ts';
import type { Price } from '../pricing/types.ts';
import { compilePriceSource, type PriceSource } from '../pricing/source-schema.ts';
import { GENAI_PRICES_DATA_URL } from '../pricing/catalogue-data.ts';
import { ConfigError } from './errors.ts';
import { compileAdminSettings, type AdminSettings } from '../admin/config.ts';
import type { StateSettings } from '../state/redis/settings.ts';
import type { ModelCacheMode, ResponseCacheSettings } from '../policy/response-cache/cache-config.ts';
import type { GatewayConfigFile, ProviderConfig } from './schema.ts';
import { compileRouting, type CompiledRouting } from '../routing/strategy/compile.ts';
import { targetKey, type TargetKey } from '../routing/health/view.ts';
import type { HealthConfig } from '../routing/health/breaker-schema.ts';
import { timeoutHeaders } from '../routing/upstream-timeouts.ts';
import { compileProviderLimits, type ProviderLimitPolicy } from '../routing/limits/provider-limits.ts';

export interface RuntimeProvider {
  readonly name: string;
  readonly dialect: Dialect;
  readonly cluster: string;
  readonly basePath: string;
  /** Headers that carry the provider key; computed once, never logged. */
  readonly authHeaders: Readonly<Record<string, string>>;
  /** Caller headers (lower-case names) forwarded to this provider only (gateway.yaml `forwardHeaders`). */
  readonly forwardHeaders: readonly string[];
}

export interface RuntimeTarget {
  readonly provider: RuntimeProvider;
  readonly model: string;
  /** What this target charges (catalogue or gateway.yaml override), compiled at load (src/pricing/resolve.ts). */
  readonly price: Price;
  /** `<provider name>/<provider model>`: whose health routing reads and attempts feed (src/routing/health/view.ts). */
  readonly key: TargetKey;
  /** gateway.yaml `expectedLatencyMs` (target's, else model's), ms: the cost estimator's p95 without measured traffic. */
  readonly expectedLatencyMs?: number | undefined;
}

export interface RuntimeModel {
  readonly name: string;
  readonly targets: readonly RuntimeTarget[];
  readonly defaultMaxTokens: number;
  readonly ownedBy: string;
  readonly plan: RoutingPlan;
  /** gateway.yaml `models.<name>.routing`, checked against the targets (src/routing/strategy/compile.ts); an alias shares its model's. */
  readonly routing: CompiledRouting;
  /**
   * gateway.yaml `models.<name>.timeouts` as the Envoy headers that carry them
   * (src/routing/upstream-timeouts.ts); frozen, empty when the model sets none.
   */
  readonly timeoutHeaders: Readonly<Record<string, string>>;
  /**
   * gateway.yaml `models.<name>.timeouts.streamIdleMs`, ms: a stream silent this long after its
   * first body bytes is ended with an error event (src/exchange/stream-stall.ts); undefined: off.
   */
  readonly streamIdleMs?: number;
  /** gateway.yaml `models.<name>.cache`: when answers are cached (src/policy/response-cache/cache-policy.ts). */
  readonly cache: ModelCacheMode;
  /** gateway.yaml `models.<name>.contextLength`, tokens; undefined: from the catalogue (src/policy/model-catalog.ts). */
  readonly contextLength?: number | undefined;
  /**
   * Set on an alias's view of a model (gateway.yaml `models.<name>.aliases`): `name` is then the
   * alias, which callers see in responses, and `aliasOf` the canonical model name.
   */
  readonly aliasOf?: string;
}

/** Who calls: a gateway key (name, team, feature, model scope); see src/policy/keys.ts. */
export type Caller = GatewayKey;

/** Config compiled for the hot path; immutable, swapped as one reference on reload. */
export interface RuntimeConfig {
  readonly version: number;
  readonly source: string;
  readonly listen: string;
  readonly metricsListen: string;
  readonly maxBodyBytes: number;
  /** What one request body may hold (gateway.yaml `server.limits`). */
  readonly limits: RequestLimits;
  readonly callersByKeyHash: ReadonlyMap<string, Caller>;
  /** gateway.yaml's keys, by hash (authenticate: src/policy/authenticate.ts). */
  readonly keys: KeyDirectory;
  readonly models: ReadonlyMap<string, RuntimeModel>;
  /** Alias name → the alias's view of its model (`name` the alias, `aliasOf` the model). */
  readonly aliases: ReadonlyMap<string, RuntimeModel>;
  readonly providersByCluster: ReadonlyMap<string, RuntimeProvider>;
  /** Every provider's `forwardHeaders`, together: what a request must carry past the allowlist. */
  readonly providerForwardHeaders: readonly string[];
  /** GET /v1/models for a key with unrestricted scope, rendered when the config was built (prices of that instant; requests use modelCatalog). */
  readonly modelsListBody: string;
  /** GET /v1/models per scope and GET /v1/models/{model}, pre-rendered (models and aliases). */
  readonly modelCatalog: ModelCatalog;
  /** gateway.yaml `rateLimits:`, compiled (src/policy/rate-limit-config.ts). */
  readonly rateLimits: RateLimitPolicy;
  /** gateway.yaml `budgets:`, compiled (src/policy/budget-config.ts). */
  readonly budgets: BudgetPolicy;
  /** gateway.yaml `server.admin` (src/admin/config.ts); undefined: no admin-created keys. */
  readonly admin: AdminSettings | undefined;
  /** gateway.yaml `server.responseCache`: enabled, TTL (s), largest entry (bytes). */
  readonly responseCache: ResponseCacheSettings;
  /** gateway.yaml `server.state`: Redis command/connect timeouts (ms) and key prefix. */
  readonly state: StateSettings;
  /** gateway.yaml `routing.health`: breakers, cool-down and latency half-life for LocalHealth (src/routing/health/breaker-schema.ts). */
  readonly routingHealth: HealthConfig;
  /** gateway.yaml `providers.<name>.limits`, compiled (src/routing/limits/provider-limits.ts). */
  readonly providerLimits: ProviderLimitPolicy;
  /** gateway.yaml `pricing.source`: where the price table is refreshed from (src/pricing/refresh.ts); undefined: never. */
  readonly priceSource: PriceSource | undefined;
  /** gateway.yaml `observability:` (src/observability/config.ts): request log file and content, spend history retention. */
  readonly observability: ObservabilitySettings;
}

/**
 * The model `name` (a model or alias name, exact) as `caller` may use it, or undefined when it
 * does not exist, the caller's scope does not grant it, or there is no caller. The one lookup
 * for chat requests and GET /v1/models/{model}; authorizeModel (src/policy/authorize-model.ts)
 * is the same check with the caller's error (403 or 404).
 */
export function modelFor(config: RuntimeConfig, caller: Caller | undefined, name: string): RuntimeModel | undefined {
  return permittedModel(config, caller, name);
}

const DEFAULT_BASE_PATH: Record<Dialect['id'], string> = { openai: '/v1', anthropic: '/v1', gemini: '/v1beta' };
const DEFAULT_AUTH: Record<Dialect['id'], NonNullable<ProviderConfig['auth']>> = {
  openai: 'bearer',
  anthropic: 'x-api-key',
  gemini: 'x-goog-api-key',
};

export { sha256Hex } from '../policy/keys.ts';

function authHeaders(scheme: NonNullable<ProviderConfig['auth']>, key: string | undefined): Record<string, string> {
  if (scheme === 'none' || key === undefined) return {};
  if (scheme === 'bearer') return { authorization: `Bearer ${key}` };
  return { [scheme]: key };
}

/** Builds the runtime form; throws ConfigError naming the path for cross-field problems. */
export function buildRuntimeConfig(file: GatewayConfigFile, source: string, env: NodeJS.ProcessEnv, version: number): RuntimeConfig {
  const providers = new Map<string, RuntimeProvider>();
  const pricing = new Map<string, ProviderPricing>();
  const byCluster = new Map<string, RuntimeProvider>();
  for (const [name, p] of Object.entries(file.providers)) {
    let key: string | undefined;
    if (p.apiKeyEnv !== undefined) {
      key = env[p.apiKeyEnv];
      if (!key) throw new ConfigError(source, `providers.${name}.apiKeyEnv`, `environment variable ${p.apiKeyEnv} is not set`);
    }
    const cluster = p.cluster ?? name;
    if (byCluster.has(cluster)) throw new ConfigError(source, `providers.${name}.cluster`, `cluster "${cluster}" is already used by provider "${byCluster.get(cluster)!.name}"`);
    const provider: RuntimeProvider = Object.freeze({
      name,
      dialect: dialects[p.dialect],
      cluster,
      basePath: p.basePath ?? DEFAULT_BASE_PATH[p.dialect],
      authHeaders: Object.freeze(authHeaders(p.auth ?? DEFAULT_AUTH[p.dialect], key)),
      forwardHeaders: Object.freeze([...new Set(p.forwardHeaders)]),
    });
    providers.set(name, provider);
    pricing.set(name, resolveProviderPricing(source, name, p.dialect, p.pricing));
    byCluster.set(cluster, provider);
  }

  const models = new Map<string, RuntimeModel>();
  for (const [name, m] of Object.entries(file.models)) {
    const targets = m.targets.map((t, i) => {
      const provider = providers.get(t.provider);
      if (!provider) {
        const known = [...providers.keys()].join(', ') || '(none)';
        throw new ConfigError(source, `models.${name}.targets[${i}].provider`, `unknown provider "${t.provider}" (expected one of: ${known})`);
      }
      const price = resolveTargetPrice({ source, modelName: name, targetIndex: i, providerModel: t.model, provider: pricing.get(t.provider)!, modelPricing: m.pricing, targetPricing: t.pricing });
      return Object.freeze({ provider, model: t.model, price, key: targetKey(provider.name, t.model), expectedLatencyMs: t.expectedLatencyMs ?? m.expectedLatencyMs });
    });
    const routing = compileRouting(m.routing, targets.map((t) => t.key), source, `models.${name}.routing`);
    models.set(
      name,
      Object.freeze({ name, targets, defaultMaxTokens: m.defaultMaxTokens, ownedBy: m.ownedBy, plan: buildRoutingPlan(targets), routing, timeoutHeaders: timeoutHeaders(m.timeouts), streamIdleMs: m.timeouts.streamIdleMs, cache: m.cache, contextLength: m.contextLength }),
    );
  }

  // Aliases are public names too: unique among models and aliases. Each is a view of its model
  // under the alias's name (responses and logs say what the caller asked for).
  const aliases = new Map<string, RuntimeModel>();
  const aliasPath = new Map<string, string>();
  const publicModels: RuntimeModel[] = [];
  for (const [name, m] of Object.entries(file.models)) {
    const model = models.get(name)!;
    publicModels.push(model);
    m.aliases.forEach((alias, i) => {
      const at = `models.${name}.aliases[${i}]`;
      if (models.has(alias)) throw new ConfigError(source, at, `alias "${alias}" is already a model name`);
      if (aliasPath.has(alias)) throw new ConfigError(source, at, `alias "${alias}" is already defined at ${aliasPath.get(alias)}`);
      aliasPath.set(alias, at);
      const view: RuntimeModel = Object.freeze({ ...model, name: alias, aliasOf: name });
      aliases.set(alias, view);
      publicModels.push(view);
    });
  }

  const keys = compileKeys(file.keys, new Set([...models.keys(), ...aliases.keys()]), source, env);
  const modelCatalog = buildModelCatalog(publicModels, Math.floor(Date.now() / 1000));
  // What each configured scope sees, rendered now rather than on a first request.
  for (const k of keys.keys) modelCatalog.listBody(k.scope);
  const modelsListBody = modelCatalog.listBody(UNRESTRICTED_SCOPE);
  const providerForwardHeaders = Object.freeze([...new Set([...providers.values()].flatMap((p) => p.forwardHeaders))]);

  return Object.freeze({
    version,
    source,
    listen: file.server.listen,
    metricsListen: file.server.metricsListen,
    maxBodyBytes: file.server.maxBodyBytes,
    limits: Object.freeze({ ...file.server.limits }),
    callersByKeyHash: keys.byHash,
    keys,
    models,
    aliases,
    providersByCluster: byCluster,
    providerForwardHeaders,
    modelsListBody,
    modelCatalog,
    admin: compileAdminSettings(file.server.admin, source, env),
    responseCache: Object.freeze({ ...file.server.responseCache }),
    state: Object.freeze({ redis: Object.freeze({ ...file.server.state.redis }) }),
    routingHealth: file.routing.health,
    providerLimits: compileProviderLimits(file.providers, new Set([...models.values()].flatMap((m) => m.targets.map((t) => t.key))), source),
    priceSource: compilePriceSource(file.pricing.source, GENAI_PRICES_DATA_URL),
    observability: file.observability,
    rateLimits: compileRateLimits(file.rateLimits, new Set(file.keys.map((k) => k.name)), source),
    budgets: compileBudgets(file.budgets, new Set(file.keys.map((k) => k.name)), new Set([...models.keys(), ...aliases.keys()]), source),
  });
}
