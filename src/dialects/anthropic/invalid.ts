import { CapabilityError } from '../../errors/capability-error.ts';
import { InvalidRequestError } from '../../errors/gateway-error.ts';

/** A 400 naming the OpenAI request parameter that cannot be sent to Anthropic. */
export function invalid(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(message, { param });
}

/**
 * A parameter Anthropic's API lacks but another provider may have: the routing plan skips an
 * Anthropic target for it, and it becomes the 400 only when no target can serve the request.
 */
export function unsupported(param: string, message: string): CapabilityError {
  return new CapabilityError(param, message);
}
