import { InvalidRequestError } from '../../errors/gateway-error.ts';

/** A 400 naming the OpenAI request parameter that cannot be sent to Anthropic. */
export function invalid(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(message, { param });
}
