import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { mintThoughtSignature } from '../../src/simulator/providers/gemini/thought-signature.ts';
import { dataOf, fixture, post, sseEvents } from './helpers/client.ts';
import { assertFits, BOOKING_SCHEMA, WEATHER_SCHEMA } from './helpers/schema.ts';
import { assertSameShape, assertSubShape } from './helpers/sse-check.ts';

type Part = { text?: string; functionCall?: { name: string; args: unknown }; thoughtSignature?: string };
type GenResponse = {
  candidates: { content: { parts: Part[]; role: string }; finishReason?: string; index: number }[];
  usageMetadata: { promptTokenCount: number; candidatesTokenCount?: number; totalTokenCount: number };
  modelVersion: string;
  responseId: string;
};

const SYSTEM = 'You are a friendly support assistant for Northwind Outfitters. Keep answers short.';
const USER = 'Hi there!';
const textRequest = { systemInstruction: { parts: [{ text: SYSTEM }] }, contents: [{ role: 'user', parts: [{ text: USER }] }] };
const tools = [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: WEATHER_SCHEMA }, { name: 'book_hotel', parametersJsonSchema: BOOKING_SCHEMA }] }];
const KEY = { 'x-goog-api-key': 'AIza-test' };

let sim: SimProvider;
const gen = (model = 'gemini-3-pro-preview'): string => `${sim.url}/v1beta/models/${model}:generateContent`;
const stream = (model = 'gemini-3-pro-preview'): string => `${sim.url}/v1beta/models/${model}:streamGenerateContent?alt=sse`;

before(async () => {
  sim = await startSimProvider({ format: 'gemini', apiKey: 'AIza-test' });
});
after(() => sim.close());

function roundTrip(signature: string | undefined): unknown {
  const call: Record<string, unknown> = { functionCall: { name: 'get_weather', args: { location: 'Paris' } } };
  if (signature !== undefined) call['thoughtSignature'] = signature;
  return {
    contents: [
      { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
      { role: 'model', parts: [call] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temperature: 18 } } }] },
    ],
    tools,
  };
}

describe('gemini simulator: generateContent', () => {
  it('answers pretty JSON shaped like the recording, echoing the model', async () => {
    const r = await post(gen(), textRequest, KEY);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json; charset=UTF-8');
    assert.ok(r.text.startsWith('{\n  "candidates": ['));
    const body = JSON.parse(r.text) as GenResponse;
    assertSubShape(body, JSON.parse(fixture('gemini/generate_text.json')));
    assert.equal(body.modelVersion, 'gemini-3-pro-preview');
    const text = body.candidates[0]?.content.parts[0]?.text ?? '';
    assert.ok(text.includes(USER));
    assert.equal(body.candidates[0]?.finishReason, 'STOP');
    const u = body.usageMetadata;
    assert.equal(u.promptTokenCount, Math.ceil((SYSTEM.length + USER.length) / 4));
    assert.equal(u.candidatesTokenCount, Math.ceil(text.length / 4));
    assert.equal(u.totalTokenCount, u.promptTokenCount + (u.candidatesTokenCount ?? 0));
  });

  it('answers mode ANY with a signed functionCall that fits the schema, respecting allowedFunctionNames', async () => {
    const config = { toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['book_hotel'] } } };
    const body = JSON.parse((await post(gen(), { ...textRequest, tools, ...config }, KEY)).text) as GenResponse;
    const part = body.candidates[0]?.content.parts[0];
    const recorded = JSON.parse(fixture('gemini/generate_function_call.json')) as GenResponse;
    const noArgs = (b: GenResponse): unknown =>
      JSON.parse(JSON.stringify({ ...b, usageMetadata: {} }), (k: string, v: unknown) => (k === 'args' ? {} : v));
    assertSameShape(noArgs(body), noArgs(recorded));
    assert.equal(part?.functionCall?.name, 'book_hotel');
    assertFits(BOOKING_SCHEMA, part?.functionCall?.args);
    assert.match(part?.thoughtSignature ?? '', /^[A-Za-z0-9+/]{40,}={0,2}$/);
    assert.equal(body.candidates[0]?.finishReason, 'STOP');
  });

  it('requires the thoughtSignature on function calls in history', async () => {
    const missing = await post(gen(), roundTrip(undefined), KEY);
    assert.equal(missing.status, 400);
    const err = JSON.parse(missing.text).error;
    assert.equal(err.status, 'INVALID_ARGUMENT');
    assert.match(err.message, /^Function call is missing a thought_signature in functionCall parts/);
    const ok = await post(gen(), roundTrip(mintThoughtSignature()), KEY);
    assert.equal(ok.status, 200);
    const text = (JSON.parse(ok.text) as GenResponse).candidates[0]?.content.parts[0]?.text ?? '';
    assert.match(text, /get_weather tool returned \{"temperature":18\}/);
  });

  it('takes back only signatures it issued (also URL-safe, unpadded) and Google\'s documented placeholders', async () => {
    const signed = { toolConfig: { functionCallingConfig: { mode: 'ANY' } } };
    const issued = (JSON.parse((await post(gen(), { ...textRequest, tools, ...signed }, KEY)).text) as GenResponse).candidates[0]?.content.parts[0]?.thoughtSignature ?? '';
    const urlSafe = issued.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    for (const sig of [issued, urlSafe, 'skip_thought_signature_validator', 'context_engineering_is_the_way_to_go']) {
      assert.equal((await post(gen(), roundTrip(sig), KEY)).status, 200, sig);
    }
    const flipped = `${issued[0] === 'A' ? 'B' : 'A'}${issued.slice(1)}`;
    for (const sig of ['c2lnbmF0dXJl', flipped, 'Skip_thought_signature_validator']) {
      const r = await post(gen(), roundTrip(sig), KEY);
      assert.equal(r.status, 400, sig);
      assert.equal(JSON.parse(r.text).error.message, 'Corrupted thought signature.');
    }
    const notBase64 = await post(gen(), roundTrip('not base64!'), KEY);
    assert.equal(notBase64.status, 400);
    assert.match(JSON.parse(notBase64.text).error.message, /^Invalid value at 'contents\[1\]\.parts\[0\]\.thought_signature' \(TYPE_BYTES\), Base64 decoding failed/);
  });

  it('reports MAX_TOKENS when maxOutputTokens cuts the answer', async () => {
    const body = JSON.parse((await post(gen(), { ...textRequest, generationConfig: { maxOutputTokens: 2 } }, KEY)).text) as GenResponse;
    assert.equal(body.candidates[0]?.finishReason, 'MAX_TOKENS');
    assert.equal(body.usageMetadata.candidatesTokenCount, 2);
  });
});

describe('gemini simulator: streamGenerateContent', () => {
  it('frames CRLF data-only SSE with cumulative usage and STOP on the last chunk', async () => {
    const r = await post(stream(), textRequest, { ...KEY, 'x-sim-fault': '{"chunks":4}' });
    assert.equal(r.headers['content-type'], 'text/event-stream');
    const { events, rest } = sseEvents(r.text, '\r\n\r\n');
    assert.equal(rest, '');
    assert.equal(events.length, 4);
    for (const e of events) assert.match(e, /^data: \{"candidates": \[[^\r\n]+$/);
    const chunks = dataOf(events) as GenResponse[];
    const recorded = dataOf(sseEvents(fixture('gemini/stream_text.sse'), '\r\n\r\n').events) as GenResponse[];
    assertSubShape(chunks[0], recorded[0]);
    assertSubShape(chunks.at(-1), recorded.at(-1));
    assert.ok(r.text.includes('"role": "model"},"index": 0}]'), 'Gemini key/comma spacing');
    chunks.slice(0, -1).forEach((c) => assert.equal(c.candidates[0]?.finishReason, undefined));
    assert.equal(chunks.at(-1)?.candidates[0]?.finishReason, 'STOP');
    const counts = chunks.map((c) => c.usageMetadata.candidatesTokenCount ?? 0);
    assert.deepEqual([...counts].sort((a, b) => a - b), counts);
    assert.equal(new Set(chunks.map((c) => c.responseId)).size, 1);
    const text = chunks.map((c) => c.candidates[0]?.content.parts[0]?.text).join('');
    const json = JSON.parse((await post(gen(), textRequest, KEY)).text) as GenResponse;
    assert.equal(text, json.candidates[0]?.content.parts[0]?.text);
    assert.deepEqual(chunks.at(-1)?.usageMetadata, json.usageMetadata);
  });

  it('streams a whole functionCall part, then the finish reason on an empty text part', async () => {
    const r = await post(stream(), { ...textRequest, tools, toolConfig: { functionCallingConfig: { mode: 'ANY' } } }, KEY);
    const chunks = dataOf(sseEvents(r.text, '\r\n\r\n').events) as GenResponse[];
    assert.equal(chunks.length, 2);
    const part = chunks[0]?.candidates[0]?.content.parts[0];
    assert.equal(part?.functionCall?.name, 'get_weather');
    assertFits(WEATHER_SCHEMA, part?.functionCall?.args);
    assert.ok((part?.thoughtSignature ?? '').length > 0);
    assert.deepEqual(chunks[1]?.candidates[0]?.content.parts, [{ text: '' }]);
    assert.equal(chunks[1]?.candidates[0]?.finishReason, 'STOP');
  });

  it('answers a JSON array without alt=sse', async () => {
    const r = await post(`${sim.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, textRequest, { ...KEY, 'x-sim-fault': '{"chunks":3}' });
    const list = JSON.parse(r.text) as GenResponse[];
    assert.equal(list.length, 3);
    assert.equal(list[2]?.candidates[0]?.finishReason, 'STOP');
  });
});

describe('gemini simulator: errors', () => {
  it('checks x-goog-api-key the way Google does', async () => {
    const none = await post(gen(), textRequest);
    assert.equal(none.status, 403);
    assert.equal(JSON.parse(none.text).error.status, 'PERMISSION_DENIED');
    const wrong = await post(gen(), textRequest, { 'x-goog-api-key': 'bad' });
    assert.equal(wrong.status, 400);
    assert.equal(JSON.parse(wrong.text).error.details[0].reason, 'API_KEY_INVALID');
  });

  it('rejects missing contents, bad roles and unknown paths', async () => {
    const empty = await post(gen(), {}, KEY);
    assert.equal(empty.status, 400);
    assert.match(JSON.parse(empty.text).error.message, /contents is not specified/);
    const role = await post(gen(), { contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, KEY);
    assert.equal(JSON.parse(role.text).error.message, 'Please use a valid role: user, model.');
    const nf = await post(`${sim.url}/v1beta/models/gemini-2.5-flash:countTokens`, textRequest, KEY);
    assert.equal(nf.status, 404);
    assert.equal(JSON.parse(nf.text).error.status, 'NOT_FOUND');
  });

  it('injects 429 RESOURCE_EXHAUSTED with RetryInfo shaped like the recording', async () => {
    const r = await post(gen('gemini-2.5-flash'), textRequest, { ...KEY, 'x-sim-fault': '{"status":429,"retryAfter":34}' });
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '34');
    const body = JSON.parse(r.text);
    const recorded = JSON.parse(fixture('gemini/error_resource_exhausted.json'));
    assertSameShape(body, recorded);
    assert.deepEqual(body.error.details.map((d: { '@type': string }) => d['@type']), recorded.error.details.map((d: { '@type': string }) => d['@type']));
    assert.equal(body.error.details[2].retryDelay, '34s');
    const unavailable = JSON.parse((await post(gen(), textRequest, { ...KEY, 'x-sim-fault': '{"status":503}' })).text);
    assert.deepEqual(unavailable.error, { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' });
  });
});
