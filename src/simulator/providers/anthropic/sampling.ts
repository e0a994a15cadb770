import type { BodyReply } from '../../reply.ts';
import { asArray, asInt, isObject, type JsonObject } from '../../unknown.ts';
import { anthropicBadRequest } from './errors.ts';
import { loopOpening } from './thinking-signature.ts';

/**
 * The Messages API's sampling and extended-thinking rules, as Claude Sonnet 4.5 applies them
 * (wire README A9; https://docs.claude.com/en/docs/build-with-claude/extended-thinking), so
 * that a gateway that breaks one gets the provider's own 400 in tests.
 * Returns the thinking budget (undefined when thinking is off) or the error reply.
 */
export function checkSampling(body: JsonObject, maxTokens: number): { budget: number | undefined } | BodyReply {
  const temperature = body['temperature'];
  const topP = body['top_p'];
  if (temperature !== undefined && topP !== undefined) {
    return anthropicBadRequest('`temperature` and `top_p` cannot both be specified for this model. Please use only one.');
  }
  const thinking = body['thinking'];
  if (thinking === undefined || (isObject(thinking) && thinking['type'] === 'disabled')) return { budget: undefined };
  if (!isObject(thinking) || thinking['type'] !== 'enabled') return anthropicBadRequest("thinking.type: Input should be 'enabled' or 'disabled'");
  const budget = asInt(thinking['budget_tokens']);
  if (budget === undefined) return anthropicBadRequest('thinking.enabled.budget_tokens: Field required');
  if (budget < 1024) return anthropicBadRequest('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
  if (maxTokens <= budget) return anthropicBadRequest('`max_tokens` must be greater than `thinking.budget_tokens`.');
  if (temperature !== undefined && temperature !== 1) {
    return anthropicBadRequest('`temperature` may only be set to 1 when thinking is enabled.');
  }
  if (typeof topP === 'number' && topP < 0.95) return anthropicBadRequest('`top_p` must be greater than or equal to 0.95 when thinking is enabled.');
  const choice = body['tool_choice'];
  if (isObject(choice) && (choice['type'] === 'any' || choice['type'] === 'tool')) {
    return anthropicBadRequest('Thinking may not be enabled when tool_choice forces tool use.');
  }
  // With thinking on, the turn a tool loop continues must open with its thinking block.
  const messages = asArray(body['messages']);
  const opening = loopOpening(messages);
  if (opening !== -1) {
    const m = messages[opening];
    const first = isObject(m) ? asArray(m['content']).filter(isObject)[0]?.['type'] : undefined;
    if (first !== 'thinking' && first !== 'redacted_thinking') {
      return anthropicBadRequest(
        `messages.${opening}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`,
      );
    }
  }
  return { budget };
}
