import type { RuntimeModel } from '../config/runtime.ts';
import { priceEpochs, targetPricesView } from '../pricing/live-prices.ts';
import { scopeAllows } from './authorize-model.ts';
import type { ModelScope } from './model-scope.ts';

/**
 * GET /v1/models and GET /v1/models/{model}, pre-rendered: the OpenAI model objects
 * (`{"id","object":"model","created","owned_by"}`, exactly OpenAI's) of every model and alias,
 * with the gateway's extra fields beside them (`context_length`, `pricing`: live-prices.ts), and
 * the list body each scope sees, rendered once per distinct scope (keys with equal patterns
 * share it) **and price epoch**: the bodies are rendered again only when a time-of-day window
 * or start date of some target's price has passed since (priceEpochs), so a request reads a
 * string, and a window that starts at 22:00 shows from 22:00.
 */
export interface ModelCatalog {
  /** The list body (`{"object":"list","data":[…]}`) of what `scope` may use, priced at `atMs` (epoch ms; default now). */
  listBody(scope: ModelScope, atMs?: number): string;
  /** The object of one public name (model or alias), as the list holds it, priced at `atMs`. */
  objectBody(publicName: string, atMs?: number): string | undefined;
}

/** Scopes beyond this many (keys created at run time, later) are rendered again instead of cached. */
const MAX_CACHED_SCOPES = 1024;

/**
 * A model's extra fields: `context_length` (tokens: gateway.yaml `contextLength`, else the
 * smallest catalogue context window of its targets: any of them may answer, so only the smallest
 * always fits; null when a target's window is unknown, since it may be the smallest and a prompt
 * too long for it is a 400 that no failover retries) and
 * `pricing`: the first target's prices (config order: the one the priority strategy tries first)
 * at the top, every target's in `targets` (config order, unnamed: a failover is charged at the
 * target that served), USD per million tokens.
 */
function modelObject(m: RuntimeModel, created: number, atMs: number): string {
  const windows = m.targets.map((t) => t.price.contextWindow);
  const known = windows.every((n): n is number => n !== undefined);
  const contextLength = m.contextLength ?? (known && windows.length > 0 ? Math.min(...windows) : null);
  // No target names: which provider and provider model serve a public model stays out of what callers see.
  const targets = m.targets.map((t) => targetPricesView(t.price, atMs));
  const first = targets[0]!;
  return JSON.stringify({
    id: m.name,
    object: 'model',
    created,
    owned_by: m.ownedBy,
    context_length: contextLength,
    pricing: { currency: 'USD', unit: 'per_million_tokens', ...first, targets },
  });
}

/**
 * `publicModels`: canonical models and alias views in list order (each model followed by its
 * aliases). `created` is the same Unix time (s) on every object.
 */
export function buildModelCatalog(publicModels: readonly RuntimeModel[], created: number): ModelCatalog {
  const epochOf = priceEpochs(publicModels.flatMap((m) => m.targets.map((t) => t.price)));
  let epoch = NaN;
  let objects = new Map<string, string>();
  let lists = new Map<string, string>();
  const at = (atMs: number): void => {
    const e = epochOf(atMs);
    if (e === epoch) return;
    epoch = e;
    objects = new Map();
    for (const m of publicModels) objects.set(m.name, modelObject(m, created, atMs));
    lists = new Map();
  };
  return {
    listBody(scope, atMs = Date.now()) {
      at(atMs);
      const cached = lists.get(scope.id);
      if (cached !== undefined) return cached;
      const data = publicModels.filter((m) => scopeAllows(scope, m)).map((m) => objects.get(m.name)!);
      const body = `{"object":"list","data":[${data.join(',')}]}`;
      if (lists.size < MAX_CACHED_SCOPES) lists.set(scope.id, body);
      return body;
    },
    objectBody(name, atMs = Date.now()) {
      at(atMs);
      return objects.get(name);
    },
  };
}
