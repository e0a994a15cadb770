import { createHash } from 'node:crypto';
import type { Dialect } from '../dialects/dialect.ts';
import type { RequestLimits } from '../exchange/request-limits.ts';
import { dialects } from '../dialects/registry.ts';
import { buildRoutingPlan, type RoutingPlan } from '../routing/plan.ts';
import { ConfigError } from './errors.ts';
import type { GatewayConfigFile, ProviderConfig } from './schema.ts';

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
}

export interface RuntimeModel {
  readonly name: string;
  readonly targets: readonly RuntimeTarget[];
  readonly defaultMaxTokens: number;
  readonly ownedBy: string;
  readonly plan: RoutingPlan;
}

export interface Caller {
  readonly name: string;
  readonly team: string;
}

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
  readonly models: ReadonlyMap<string, RuntimeModel>;
  readonly providersByCluster: ReadonlyMap<string, RuntimeProvider>;
  /** Every provider's `forwardHeaders`, together: what a request must carry past the allowlist. */
  readonly providerForwardHeaders: readonly string[];
  /** GET /v1/models, pre-rendered. */
  readonly modelsListBody: string;
  /** GET /v1/models/{model}: each model object, pre-rendered, the same object the list holds. */
  readonly modelBodies: ReadonlyMap<string, string>;
}

/**
 * The model `name` as `caller` may use it, or undefined when it does not exist or the caller
 * may not use it: callers must not learn which. The one lookup for chat requests and
 * GET /v1/models/{model}, so that per-key model scopes plug in here.
 */
export function modelFor(config: RuntimeConfig, _caller: Caller | undefined, name: string): RuntimeModel | undefined {
  return config.models.get(name);
}

const DEFAULT_BASE_PATH: Record<Dialect['id'], string> = { openai: '/v1', anthropic: '/v1', gemini: '/v1beta' };
const DEFAULT_AUTH: Record<Dialect['id'], NonNullable<ProviderConfig['auth']>> = {
  openai: 'bearer',
  anthropic: 'x-api-key',
  gemini: 'x-goog-api-key',
};

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function authHeaders(scheme: NonNullable<ProviderConfig['auth']>, key: string | undefined): Record<string, string> {
  if (scheme === 'none' || key === undefined) return {};
  if (scheme === 'bearer') return { authorization: `Bearer ${key}` };
  return { [scheme]: key };
}

/** Builds the runtime form; throws ConfigError naming the path for cross-field problems. */
export function buildRuntimeConfig(file: GatewayConfigFile, source: string, env: NodeJS.ProcessEnv, version: number): RuntimeConfig {
  const providers = new Map<string, RuntimeProvider>();
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
      return Object.freeze({ provider, model: t.model });
    });
    models.set(name, Object.freeze({ name, targets, defaultMaxTokens: m.defaultMaxTokens, ownedBy: m.ownedBy, plan: buildRoutingPlan(targets) }));
  }

  const callers = new Map<string, Caller>();
  file.keys.forEach((k, i) => {
    let hash = k.sha256;
    if (k.fromEnv !== undefined) {
      const key = env[k.fromEnv];
      if (!key) throw new ConfigError(source, `keys[${i}].fromEnv`, `environment variable ${k.fromEnv} is not set`);
      hash = sha256Hex(key);
    }
    if (callers.has(hash!)) throw new ConfigError(source, `keys[${i}]`, `the same key is listed twice (also as "${callers.get(hash!)!.name}")`);
    callers.set(hash!, Object.freeze({ name: k.name, team: k.team }));
  });

  const created = Math.floor(Date.now() / 1000);
  const modelObjects = [...models.values()].map((m) => ({ id: m.name, object: 'model', created, owned_by: m.ownedBy }));
  const modelsListBody = JSON.stringify({ object: 'list', data: modelObjects });
  const modelBodies = new Map(modelObjects.map((o) => [o.id, JSON.stringify(o)]));
  const providerForwardHeaders = Object.freeze([...new Set([...providers.values()].flatMap((p) => p.forwardHeaders))]);

  return Object.freeze({
    version,
    source,
    listen: file.server.listen,
    metricsListen: file.server.metricsListen,
    maxBodyBytes: file.server.maxBodyBytes,
    limits: Object.freeze({ ...file.server.limits }),
    callersByKeyHash: callers,
    models,
    providersByCluster: byCluster,
    providerForwardHeaders,
    modelsListBody,
    modelBodies,
  });
}
