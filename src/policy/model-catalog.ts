import type { RuntimeModel } from '../config/runtime.ts';
import { scopeAllows } from './authorize-model.ts';
import type { ModelScope } from './model-scope.ts';

/**
 * GET /v1/models and GET /v1/models/{model}, pre-rendered: the OpenAI model objects
 * (`{"id","object":"model","created","owned_by"}`) of every model and alias, and the list body
 * each scope sees, rendered once per distinct scope (keys with equal patterns share it).
 */
export interface ModelCatalog {
  /** The list body (`{"object":"list","data":[…]}`) of what `scope` may use. */
  listBody(scope: ModelScope): string;
  /** The object of one public name (model or alias), as the list holds it. */
  objectBody(publicName: string): string | undefined;
}

/** Scopes beyond this many (keys created at run time, later) are rendered again instead of cached. */
const MAX_CACHED_SCOPES = 1024;

/**
 * `publicModels`: canonical models and alias views in list order (each model followed by its
 * aliases). `created` is the same Unix time (s) on every object.
 */
export function buildModelCatalog(publicModels: readonly RuntimeModel[], created: number): ModelCatalog {
  const objects = new Map<string, string>();
  for (const m of publicModels) objects.set(m.name, JSON.stringify({ id: m.name, object: 'model', created, owned_by: m.ownedBy }));
  const lists = new Map<string, string>();
  return {
    listBody(scope) {
      const cached = lists.get(scope.id);
      if (cached !== undefined) return cached;
      const data = publicModels.filter((m) => scopeAllows(scope, m)).map((m) => objects.get(m.name)!);
      const body = `{"object":"list","data":[${data.join(',')}]}`;
      if (lists.size < MAX_CACHED_SCOPES) lists.set(scope.id, body);
      return body;
    },
    objectBody: (name) => objects.get(name),
  };
}
