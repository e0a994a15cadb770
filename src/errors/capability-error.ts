import { InvalidRequestError, type GatewayErrorOptions } from './gateway-error.ts';

/**
 * "This target cannot serve this request": a parameter or content the request uses that one
 * provider's API lacks (Anthropic `n > 1`, Gemini `logprobs`, …) but another may have. Distinct
 * from a plain InvalidRequestError, which no target would accept (the caller's mistake
 * everywhere): the routing plan skips a target that answers with this, and only when every
 * target does is it returned, as a 400 naming the parameter (`param`), code
 * `unsupported_parameter` (OpenAI's code for a parameter a model does not take).
 */
export class CapabilityError extends InvalidRequestError {
  constructor(param: string, message: string, options: Omit<GatewayErrorOptions, 'param'> = {}) {
    super(message, { code: 'unsupported_parameter', ...options, param });
  }
}
