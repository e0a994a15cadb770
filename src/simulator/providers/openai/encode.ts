import { alnum } from '../../ids.ts';
import type { Answer, FinishKind } from '../../model/responder.ts';
import { splitEven } from '../../model/text.ts';
import type { Reply } from '../../reply.ts';
import type { ParsedRequest } from '../provider.ts';
import { OPENAI_STREAM_ERROR } from './errors.ts';

const FINGERPRINT = 'fp_5im0a1b2c3';
const JSON_TYPE = 'application/json';
const SSE_TYPE = 'text/event-stream; charset=utf-8';
const DONE = 'data: [DONE]\n\n';

function finishReason(f: FinishKind): string {
  return f === 'tool' ? 'tool_calls' : f === 'length' ? 'length' : 'stop';
}

/** Prompt counted once, completion tokens summed over the choices, as the API bills `n`. */
function usage(answers: readonly Answer[]): object {
  const prompt = answers[0]?.promptTokens ?? 0;
  const completion = answers.reduce((sum, a) => sum + a.outputTokens, 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function headers(contentType: string): Record<string, string> {
  return { 'content-type': contentType, 'x-request-id': `req_${alnum(32)}`, 'openai-processing-ms': '1' };
}

function messageOf(a: Answer): object {
  const call = a.toolCall;
  return call === undefined
    ? { role: 'assistant', content: a.text, refusal: null, annotations: [] }
    : {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: `call_${alnum(24)}`, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } }],
        refusal: null,
        annotations: [],
      };
}

/** Non-stream `chat.completion` with one choice per answer, pretty-printed as the API sends it. */
function renderJson(answers: readonly Answer[], req: ParsedRequest): Reply {
  const body = {
    id: `chatcmpl-${alnum(29)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.conv.model,
    choices: answers.map((a, index) => ({ index, message: messageOf(a), logprobs: null, finish_reason: finishReason(a.finish) })),
    usage: usage(answers),
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  };
  return { kind: 'body', status: 200, headers: headers(JSON_TYPE), body: `${JSON.stringify(body, null, 2)}\n` };
}

/** Takes one event from each list in turn, as the API interleaves the choices of `n`. */
function interleave(lists: readonly string[][]): string[] {
  const out: string[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) for (const l of lists) if (i < l.length) out.push(l[i] as string);
  return out;
}

/**
 * `chat.completion.chunk` SSE: per choice a role chunk, content or tool-argument fragments and a
 * finish chunk (the choices interleaved), then usage, then `[DONE]`.
 */
function renderStream(answers: readonly Answer[], req: ParsedRequest): Reply {
  const id = `chatcmpl-${alnum(29)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = req.conv.model;
  const frame = (choices: unknown[], usageValue: unknown): string => {
    const chunk: Record<string, unknown> = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: FINGERPRINT,
      choices,
    };
    if (req.includeUsage) chunk['usage'] = usageValue;
    if (req.obfuscation) chunk['obfuscation'] = alnum(2 + Math.floor(Math.random() * 10));
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  const perChoice = answers.map((a, index) => {
    const delta = (d: object, finish: string | null = null): string =>
      frame([{ index, delta: d, logprobs: null, finish_reason: finish }], null);
    const events: string[] = [];
    const call = a.toolCall;
    if (call === undefined) {
      events.push(delta({ role: 'assistant', content: '', refusal: null }));
      for (const p of a.pieces) events.push(delta({ content: p }));
    } else {
      const first = { index: 0, id: `call_${alnum(24)}`, type: 'function', function: { name: call.name, arguments: '' } };
      events.push(delta({ role: 'assistant', content: null, tool_calls: [first], refusal: null }));
      for (const frag of splitEven(JSON.stringify(call.args), a.chunks)) {
        events.push(delta({ tool_calls: [{ index: 0, function: { arguments: frag } }] }));
      }
    }
    events.push(delta({}, finishReason(a.finish)));
    return events;
  });
  const events = interleave(perChoice);
  if (req.includeUsage) events.push(frame([], usage(answers)));
  events.push(DONE);
  return { kind: 'stream', status: 200, headers: headers(SSE_TYPE), events, errorEvent: OPENAI_STREAM_ERROR };
}

/** Encodes the answers (one per choice) in the OpenAI chat-completions wire format. */
export function renderOpenAI(answers: readonly Answer[], req: ParsedRequest): Reply {
  return req.stream ? renderStream(answers, req) : renderJson(answers, req);
}
