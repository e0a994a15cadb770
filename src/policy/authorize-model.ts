import type { Caller, RuntimeConfig, RuntimeModel } from '../config/runtime.ts';
import { GatewayError, NotFoundError } from '../errors/gateway-error.ts';
import type { ModelScope } from './model-scope.ts';

/**
 * A model outside the key's scope: 403, as OpenAI answers a project without access to a model
 * (status 403, type `invalid_request_error`; the SDKs raise PermissionDeniedError). The message
 * is the same whether the model exists or not, so a scoped key learns nothing outside its scope.
 */
export class ModelNotPermittedError extends GatewayError {
  readonly status = 403;
  readonly openaiType = 'invalid_request_error' as const;
}

/** Longest name echoed back in the message. */
const MAX_ECHOED = 256;

/** The model (or alias view) a public name stands for, whoever asks; exact and case-sensitive. */
export function resolveModel(config: RuntimeConfig, name: string): RuntimeModel | undefined {
  return config.models.get(name) ?? config.aliases.get(name);
}

/**
 * Whether `scope` grants `model`. A canonical model: some pattern matches its name. An alias:
 * a pattern matches the model it resolves to, or a pattern is the alias name itself, literally;
 * a glob never grants through an alias (`c*` does not grant `cheap` → `gpt-4o`).
 */
export function scopeAllows(scope: ModelScope, model: RuntimeModel): boolean {
  if (scope.unrestricted) return true;
  if (model.aliasOf === undefined) return scope.matches(model.name);
  return scope.namesLiterally(model.name) || scope.matches(model.aliasOf);
}

/** The model `name` as `caller` may use it, or undefined (no such model, not permitted, no caller). */
export function permittedModel(config: RuntimeConfig, caller: Caller | undefined, name: string): RuntimeModel | undefined {
  if (caller === undefined) return undefined;
  const model = resolveModel(config, name);
  return model !== undefined && scopeAllows(caller.scope, model) ? model : undefined;
}

/**
 * The model `name` as `caller` may use it. Throws, with OpenAI's wording and `param: model`:
 * - a key with unrestricted scope and an unknown name: 404 `model_not_found`;
 * - a scoped key and any name it may not use, existing or not: 403 `model_not_permitted`. Also an
 *   unknown name its globs match: otherwise a glob would tell apart an existing alias it may not
 *   use (403) from a name that does not exist (404).
 */
export function authorizeModel(config: RuntimeConfig, caller: Caller, name: string): RuntimeModel {
  const model = permittedModel(config, caller, name);
  if (model !== undefined) return model;
  const shown = name.length > MAX_ECHOED ? `${name.slice(0, MAX_ECHOED)}…` : name;
  const message = `The model \`${shown}\` does not exist or you do not have access to it.`;
  if (caller.scope.unrestricted) throw new NotFoundError(message, { param: 'model', code: 'model_not_found' });
  throw new ModelNotPermittedError(message, { param: 'model', code: 'model_not_permitted' });
}
