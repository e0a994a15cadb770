import { modelFor, type Caller, type RuntimeConfig } from '../config/runtime.ts';
import { NotFoundError } from '../errors/gateway-error.ts';

export const MODELS_PATH = '/v1/models';
const MODEL_PREFIX = `${MODELS_PATH}/`;

/**
 * The `{model}` of `GET /v1/models/{model}`, percent-decoded, or undefined for any other path.
 * Names may contain `/` and `:` (`/v1/models/org/model:tag`), sent encoded (the SDKs'
 * `models.retrieve()` encodes them) or not. A name that does not decode stays as sent, and so
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

/** Longest name echoed back in the 404 message. */
const MAX_ECHOED = 256;

/**
 * GET /v1/models/{model}'s body (`{"id","object":"model","created","owned_by"}`, the object the
 * list holds), or 404 `model_not_found` when the model does not exist or the caller may not use
 * it, without saying which (OpenAI's wording).
 */
export function modelRetrieveBody(config: RuntimeConfig, caller: Caller, name: string): string {
  const model = modelFor(config, caller, name);
  const body = model === undefined ? undefined : config.modelBodies.get(model.name);
  if (body === undefined) {
    const shown = name.length > MAX_ECHOED ? `${name.slice(0, MAX_ECHOED)}…` : name;
    throw new NotFoundError(`The model \`${shown}\` does not exist or you do not have access to it.`, { param: 'model', code: 'model_not_found' });
  }
  return body;
}
