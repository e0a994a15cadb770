import type { Profile } from './profiles.ts';
import type { Topology } from './topology.ts';

export type PathId =
  | 'direct-openai'
  | 'bare-openai'
  | 'gateway-openai'
  | 'direct-anthropic'
  | 'bare-anthropic'
  | 'gateway-anthropic'
  | 'gateway-policies-embedded'
  | 'gateway-policies-redis';

/** Where a gateway path's state lives when its policies are on (bench/policy-config.ts). */
export type PolicyStore = 'embedded' | 'redis';

export interface PathDef {
  readonly id: PathId;
  readonly kind: 'direct' | 'bare' | 'gateway';
  readonly provider: 'openai' | 'anthropic';
  /** The bare-Envoy path to the same provider: ratios are computed against it, pair by pair. */
  readonly baseline: PathId | undefined;
  readonly label: string;
  /**
   * Set on the policy paths: the gateway with rate limits and a budget on for the demo key,
   * its own Envoy + ext_proc, state on this store. Same request as `gateway-openai`, which is
   * what the policies' cost is measured against (`policyPairs`).
   */
  readonly policies?: PolicyStore;
}

export const ALL_PATHS: readonly PathDef[] = [
  { id: 'direct-openai', kind: 'direct', provider: 'openai', baseline: 'bare-openai', label: 'OpenAI sim, direct' },
  { id: 'bare-openai', kind: 'bare', provider: 'openai', baseline: undefined, label: 'bare Envoy → OpenAI sim' },
  { id: 'gateway-openai', kind: 'gateway', provider: 'openai', baseline: 'bare-openai', label: 'gateway → OpenAI sim' },
  { id: 'direct-anthropic', kind: 'direct', provider: 'anthropic', baseline: 'bare-anthropic', label: 'Anthropic sim, direct' },
  { id: 'bare-anthropic', kind: 'bare', provider: 'anthropic', baseline: undefined, label: 'bare Envoy → Anthropic sim' },
  { id: 'gateway-anthropic', kind: 'gateway', provider: 'anthropic', baseline: 'bare-anthropic', label: 'gateway → Anthropic sim (translated)' },
  { id: 'gateway-policies-embedded', kind: 'gateway', provider: 'openai', baseline: 'bare-openai', label: 'gateway, policies on (embedded state) → OpenAI sim', policies: 'embedded' },
  { id: 'gateway-policies-redis', kind: 'gateway', provider: 'openai', baseline: 'bare-openai', label: 'gateway, policies on (Redis) → OpenAI sim', policies: 'redis' },
];

/** The paths a run measures unless `--paths` or `--policies` says otherwise (the policy paths need their own gateways). */
export const DEFAULT_PATHS: readonly PathId[] = ALL_PATHS.filter((p) => !p.policies).map((p) => p.id);

/** The policy paths, and the path without policies they are compared with. */
export const POLICY_PATHS: readonly PathId[] = ALL_PATHS.filter((p) => p.policies).map((p) => p.id);
export const POLICIES_OFF_PATH: PathId = 'gateway-openai';

/** The processes (bench/topology.ts `pids()` names) of a gateway path's ext_proc and Envoy. */
export function gatewayProcs(p: PathDef): { extproc: string; envoy: string } {
  return p.policies ? { extproc: `extproc-policies-${p.policies}`, envoy: `envoy-policies-${p.policies}` } : { extproc: 'extproc', envoy: 'envoy-gateway' };
}

/** The gateway instance a gateway path goes through. */
export function gatewayOf(topo: Topology, p: PathDef): Topology['gateway'] {
  if (!p.policies) return topo.gateway;
  const g = topo.policies[p.policies];
  if (!g) throw new Error(`${p.id}: the topology was started without the ${p.policies} policy gateway`);
  return g;
}

/** One request as the load generators send it. */
export interface RequestSpec {
  readonly origin: string;
  readonly path: string;
  readonly method: 'POST';
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Response format the client gets: OpenAI (also through the gateway) or Anthropic's own. */
  readonly wire: 'openai' | 'anthropic';
  readonly stream: boolean;
}

const SYSTEM =
  'You are a helpful assistant for an online bookshop. Answer briefly and politely, in the language of the question. ' +
  'If you do not know the answer, say so and suggest contacting support@example.com.';
const USER =
  'Hello! I ordered two paperbacks last Tuesday (order 48213) and the tracking page still says "label created". ' +
  'Can you tell me whether that is normal, how long shipping to Lyon usually takes, and whether I can still add a third book to the same parcel?';

/**
 * A realistic chat request for each path: through the gateway, OpenAI format with the demo key
 * (model gpt-4o-mini → openai-primary, claude-sonnet-4-5 → anthropic); on the bare and direct
 * paths, the provider's own format with its key, i.e. what the gateway itself would send upstream.
 */
export function requestFor(p: PathDef, profile: Profile, topo: Topology): RequestSpec {
  const sim = topo.sims[p.provider];
  const origin = p.kind === 'direct' ? `http://127.0.0.1:${sim.plainPort}` : p.kind === 'bare' ? topo.bare.url : gatewayOf(topo, p).url;
  const fault = JSON.stringify(profile.fault);
  const messages = [{ role: 'user', content: USER }];
  if (p.kind === 'gateway') {
    const model = p.provider === 'openai' ? 'gpt-4o-mini' : 'claude-sonnet-4-5';
    const body = { model, messages: [{ role: 'system', content: SYSTEM }, ...messages], ...(profile.stream ? { stream: true } : {}) };
    return {
      origin,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${topo.gateway.demoKey}`, 'x-sim-fault': fault },
      body: JSON.stringify(body),
      wire: 'openai',
      stream: profile.stream,
    };
  }
  if (p.provider === 'openai') {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: SYSTEM }, ...messages], ...(profile.stream ? { stream: true } : {}) };
    return {
      origin,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sim.key}`, 'x-sim-fault': fault },
      body: JSON.stringify(body),
      wire: 'openai',
      stream: profile.stream,
    };
  }
  const body = { model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, system: SYSTEM, messages, ...(profile.stream ? { stream: true } : {}) };
  return {
    origin,
    path: '/v1/messages',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': sim.key, 'anthropic-version': '2023-06-01', 'x-sim-fault': fault },
    body: JSON.stringify(body),
    wire: 'anthropic',
    stream: profile.stream,
  };
}
