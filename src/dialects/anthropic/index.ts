import type { Dialect, StreamContext } from '../dialect.ts';
import { parseAnthropicError } from './errors.ts';
import { anthropicCannotServe, buildAnthropicRequest } from './request.ts';
import { parseAnthropicResponse } from './response.ts';
import { AnthropicStreamTranslator } from './stream.ts';

/** The Anthropic Messages API dialect (docs/dialects/anthropic.md). Stateless. */
export const anthropicDialect: Dialect = Object.freeze({
  id: 'anthropic',
  cannotServe: anthropicCannotServe,
  buildRequest: buildAnthropicRequest,
  parseResponse: parseAnthropicResponse,
  parseError: parseAnthropicError,
  createStreamTranslator: (ctx: StreamContext) => new AnthropicStreamTranslator(ctx),
});
