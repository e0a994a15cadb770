import type { ChatCompletion } from '../../../src/openai/chat-response.ts';

/** Normalized completions as the gateway emits them (src/openai/normalize-completion.ts), for the cache tests. */
const usage = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
const head = { id: 'chatcmpl-stored0000000000000000', object: 'chat.completion' as const, created: 1_700_000_000, model: 'gpt-4o-mini' };

export const TEXT: ChatCompletion = {
  ...head,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there, ünïcödé 👋', refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: { ...usage, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 0 } },
  system_fingerprint: 'fp_123',
};

export const TOOL_CALLS: ChatCompletion = {
  ...head,
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage,
};

export const TWO_CHOICES: ChatCompletion = {
  ...head,
  choices: [
    { index: 0, message: { role: 'assistant', content: 'One', refusal: null }, logprobs: null, finish_reason: 'stop' },
    { index: 1, message: { role: 'assistant', content: 'Two, cut', refusal: null }, logprobs: null, finish_reason: 'length' },
  ],
  usage,
};

export const LOGPROBS: ChatCompletion = {
  ...head,
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hi', refusal: null },
      logprobs: { content: [{ token: 'Hi', logprob: -0.01, bytes: [72, 105], top_logprobs: [{ token: 'Hi', logprob: -0.01, bytes: [72, 105] }] }], refusal: null },
      finish_reason: 'stop',
    },
  ],
  usage,
};

export const REASONING: ChatCompletion = {
  ...head,
  choices: [{ index: 0, message: { role: 'assistant', content: '42', refusal: null, reasoning_content: 'Think: 6 × 7.' } as ChatCompletion['choices'][number]['message'], logprobs: null, finish_reason: 'stop' }],
  usage,
};

export const REFUSAL: ChatCompletion = {
  ...head,
  choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' }, logprobs: null, finish_reason: 'stop' }],
  usage,
};

export const ALL: Record<string, ChatCompletion> = { TEXT, TOOL_CALLS, TWO_CHOICES, LOGPROBS, REASONING, REFUSAL };
