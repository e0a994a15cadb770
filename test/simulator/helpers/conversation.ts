import type { Conversation } from '../../../src/simulator/model/conversation.ts';

/** A plain one-turn conversation for the simulated model: no tools, no limits, 10 prompt tokens. */
export function baseConversation(lastUserText: string): Conversation {
  return {
    model: 'm',
    lastUserText,
    toolResults: [],
    tools: [],
    toolMode: { kind: 'auto' },
    maxTokens: undefined,
    stop: [],
    promptTokens: 10,
  };
}
