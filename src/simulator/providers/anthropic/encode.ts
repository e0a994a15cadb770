import { alnum } from '../../ids.ts';
import { formatJson, PYTHON_DUMPS } from '../../json-format.ts';
import type { Answer, FinishKind } from '../../model/responder.ts';
import { splitEven } from '../../model/text.ts';
import { countTokens } from '../../model/tokens.ts';
import type { Reply } from '../../reply.ts';
import type { ParsedRequest } from '../provider.ts';
import { ANTHROPIC_STREAM_ERROR } from './errors.ts';
import { mintThinkingSignature } from './thinking-signature.ts';

const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
const CACHE_CREATION = { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 };

function stopReason(f: FinishKind): string {
  switch (f) {
    case 'tool':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    case 'stop_sequence':
      return 'stop_sequence';
    default:
      return 'end_turn';
  }
}

function usage(input: number, output: number): object {
  return {
    input_tokens: input,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: CACHE_CREATION,
    output_tokens: output,
    service_tier: 'standard',
  };
}

function headers(contentType: string): Record<string, string> {
  return { 'content-type': contentType, 'request-id': `req_011C${alnum(20)}`, 'anthropic-organization-id': '00000000-0000-4000-8000-000000000000' };
}

/** What a thinking block says; its tokens count as output, as Anthropic bills them. */
const THINKING = 'The user wants a short, direct answer. I will check what was asked and answer it.';
const THINKING_TOKENS = countTokens(THINKING.length);
const signature = (): string => mintThinkingSignature(THINKING);

/** Output tokens as billed: the answer's, plus the thinking block's when there is one. */
function billedOutput(a: Answer, req: ParsedRequest): number {
  return a.outputTokens + (req.thinking ? THINKING_TOKENS : 0);
}

function event(type: string, data: object): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** Non-stream `message`, compact JSON as the API sends it. */
function renderJson(a: Answer, req: ParsedRequest): Reply {
  const call = a.toolCall;
  const content =
    call !== undefined
      ? [{ type: 'tool_use', id: `toolu_01${alnum(22)}`, name: call.name, input: call.args }]
      : a.text.length > 0
        ? [{ type: 'text', text: a.text }]
        : [];
  const thinking = req.thinking ? [{ type: 'thinking', thinking: THINKING, signature: signature() }] : [];
  const body = {
    model: req.conv.model,
    id: `msg_01${alnum(22)}`,
    type: 'message',
    role: 'assistant',
    content: [...thinking, ...content],
    stop_reason: stopReason(a.finish),
    stop_sequence: a.stopSequence,
    usage: usage(a.promptTokens, billedOutput(a, req)),
  };
  return { kind: 'body', status: 200, headers: headers('application/json'), body: JSON.stringify(body) };
}

/** message_start, one content block (with ping after its start), message_delta, message_stop. */
function renderStream(a: Answer, req: ParsedRequest): Reply {
  const message = {
    model: req.conv.model,
    id: `msg_01${alnum(22)}`,
    type: 'message',
    role: 'assistant',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: usage(a.promptTokens, 1),
  };
  const events = [event('message_start', { message })];
  let index = 0;
  if (req.thinking) {
    // As the API streams it: the thinking text in deltas, then its signature, then the answer's block.
    events.push(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }), PING);
    for (const p of splitEven(THINKING, 3)) events.push(event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: p } }));
    events.push(event('content_block_delta', { index, delta: { type: 'signature_delta', signature: signature() } }));
    events.push(event('content_block_stop', { index }));
    index++;
  }
  const call = a.toolCall;
  if (call === undefined) {
    events.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }), ...(index === 0 ? [PING] : []));
    for (const p of a.pieces) events.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
  } else {
    const block = { type: 'tool_use', id: `toolu_01${alnum(22)}`, name: call.name, input: {} };
    events.push(event('content_block_start', { index, content_block: block }), ...(index === 0 ? [PING] : []));
    const fragments = ['', ...splitEven(formatJson(call.args, PYTHON_DUMPS), a.chunks)];
    for (const f of fragments) events.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: f } }));
  }
  events.push(event('content_block_stop', { index }));
  events.push(
    event('message_delta', {
      delta: { stop_reason: stopReason(a.finish), stop_sequence: a.stopSequence },
      usage: { input_tokens: a.promptTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: billedOutput(a, req) },
    }),
    MESSAGE_STOP,
  );
  return { kind: 'stream', status: 200, headers: headers('text/event-stream; charset=utf-8'), events, errorEvent: ANTHROPIC_STREAM_ERROR };
}

/** Encodes the answer in the Anthropic Messages wire format (one answer: the API has no `n`). */
export function renderAnthropic(answers: readonly Answer[], req: ParsedRequest): Reply {
  const [a] = answers;
  if (a === undefined) throw new Error('renderAnthropic: no answer');
  return req.stream ? renderStream(a, req) : renderJson(a, req);
}
