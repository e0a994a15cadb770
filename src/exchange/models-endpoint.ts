import type { Caller, RuntimeConfig } from '../config/runtime.ts';
import { NotFoundError } from '../errors/gateway-error.ts';
import { permittedModel } from '../policy/authorize-model.ts';

export const MODELS_PATH = '/v1/models';
const MODEL_PREFIX = `${MODELS_PATH}/`;

/**
 * The `{model}` of `GET /v1/models/{model}`, percent-decoded, or undefined for any other path.
 * Names may contain `/` and `:` (`/v1/models/org/model:tag`), sent encoded (the SDKs'
 * `models.retrieve()` encodes them) or not. Decoded once only: `gpt%252D4o` is `gpt%2D4o`, a name
 * no model has and no scope pattern matches. A name that does not decode stays as sent, and so
 * matches no model.
 */
export function retrievedModelName(path: string): string | undefined {
  if (!path.startsWith(MODEL_PREFIX)) return undefined;
  const raw = path.slice(MODEL_PREFIX.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * GET /v1/models/{model}'s body (OpenAI's `{"id","object":"model","created","owned_by"}` with the
 * gateway's `context_length` and `pricing`, priced now: the object the list holds; an alias is
 * its own object) for a model or alias `caller` may use. Otherwise 404
 * `model_not_found` for every key, whether the model exists or not: OpenAI's retrieve answers a
 * model the project may not use that way (shared/cases/models-retrieve). Chat requests answer a
 * scoped key 403 instead (authorizeModel), as issue 8 asks; neither tells the two apart.
 * Throws NotFoundError.
 */
export function modelRetrieveBody(config: RuntimeConfig, caller: Caller, name: string): string {
  const model = permittedModel(config, caller, name);
  if (model === undefined) {
    const shown = name.length > 256 ? `${name.slice(0, 256)}…` : name;
    throw new NotFoundError(`The model \`${shown}\` does not exist or you do not have access to it.`, { param: 'model', code: 'model_not_found' });
  }
  return config.modelCatalog.objectBody(model.name)!;
}

/** GET /v1/models's body: the models and aliases `caller` may use, with prices now, rendered once per scope and price epoch. */
export function modelListBody(config: RuntimeConfig, caller: Caller): string {
  return config.modelCatalog.listBody(caller.scope);
}
