import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JSON_OBJECT_INSTRUCTION } from '../../src/dialects/anthropic/request.ts';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { dataOf, post, sseEvents } from './helpers/client.ts';
import { assertFits, BOOKING_SCHEMA, WEATHER_SCHEMA } from './helpers/schema.ts';

const USER = 'Book a hotel for two.';

let openai: SimProvider;
let anthropic: SimProvider;
let gemini: SimProvider;

before(async () => {
  [openai, anthropic, gemini] = await Promise.all([
    startSimProvider({ format: 'openai' }),
    startSimProvider({ format: 'anthropic' }),
    startSimProvider({ format: 'gemini' }),
  ]);
});
after(async () => {
  await Promise.all([openai.close(), anthropic.close(), gemini.close()]);
});

type Json = Record<string, any>;

async function json(url: string, body: unknown): Promise<Json> {
  const r = await post(url, body);
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text) as Json;
}

async function events(url: string, body: unknown, sep = '\n\n'): Promise<Json[]> {
  const r = await post(url, body);
  assert.equal(r.status, 200, r.text);
  return dataOf(sseEvents(r.text, sep).events) as Json[];
}

describe('openai simulator: response_format and n', () => {
  const url = (): string => `${openai.url}/v1/chat/completions`;
  const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: USER }] };
  const schemaFormat = { type: 'json_schema', json_schema: { name: 'booking', strict: true, schema: BOOKING_SCHEMA } };

  it('json_schema: the content is JSON fitting the schema, and usage counts it', async () => {
    const body = await json(url(), { ...base, response_format: schemaFormat });
    const content: string = body['choices'][0].message.content;
    assertFits(BOOKING_SCHEMA, JSON.parse(content));
    assert.equal(body['usage'].completion_tokens, Math.ceil(content.length / 4));
  });

  it('json_object: a JSON object, shaped by a schema the prompt carries when there is one', async () => {
    const plain = await json(url(), { ...base, response_format: { type: 'json_object' } });
    const value = JSON.parse(plain['choices'][0].message.content);
    assert.equal(typeof value, 'object');
    assert.match(value.answer, /Book a hotel for two/);
    const system = `Answer in JSON. JSON schema:\n${JSON.stringify(WEATHER_SCHEMA)}\nYou MUST answer with a JSON object that matches the JSON schema above.`;
    const shaped = await json(url(), { ...base, messages: [{ role: 'system', content: system }, ...base.messages], response_format: { type: 'json_object' } });
    assertFits(WEATHER_SCHEMA, JSON.parse(shaped['choices'][0].message.content));
  });

  it('n: that many choices, indexed, completion tokens summed', async () => {
    const body = await json(url(), { ...base, n: 3 });
    assert.deepEqual(body['choices'].map((c: Json) => c['index']), [0, 1, 2]);
    const texts: string[] = body['choices'].map((c: Json) => c['message'].content);
    assert.equal(new Set(texts).size, 3, 'alternatives differ');
    assert.equal(body['usage'].completion_tokens, texts.reduce((s, t) => s + Math.ceil(t.length / 4), 0));
  });

  it('streams JSON for json_schema and interleaves n choices, each with role and one finish', async () => {
    const chunks = await events(url(), { ...base, n: 2, stream: true, stream_options: { include_usage: true }, response_format: schemaFormat });
    const content = ['', ''];
    const finishes = [0, 0];
    const roles = [0, 0];
    for (const c of chunks) {
      for (const ch of c['choices']) {
        content[ch.index] += ch.delta.content ?? '';
        if (ch.delta.role === 'assistant') roles[ch.index]! += 1;
        if (ch.finish_reason !== null) finishes[ch.index]! += 1;
      }
    }
    assert.deepEqual(roles, [1, 1]);
    assert.deepEqual(finishes, [1, 1]);
    for (const text of content) assertFits(BOOKING_SCHEMA, JSON.parse(text));
    assert.equal(chunks[0]!['choices'][0].index, 0);
    assert.equal(chunks[1]!['choices'][0].index, 1, 'choices are interleaved');
    const usage = chunks[chunks.length - 1]!['usage'];
    assert.equal(usage.completion_tokens, content.reduce((s, t) => s + Math.ceil(t.length / 4), 0));
  });

  it('refuses what the API refuses', async () => {
    for (const [extra, param] of [
      [{ n: 0 }, 'n'],
      [{ response_format: { type: 'yaml' } }, 'response_format.type'],
      [{ response_format: { type: 'json_schema', json_schema: { schema: WEATHER_SCHEMA } } }, 'response_format.json_schema.name'],
    ] as const) {
      const r = await post(url(), { ...base, ...extra });
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.text).error.param, param);
    }
  });

  it('a required tool call still wins over the response format', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_SCHEMA } }];
    const body = await json(url(), { ...base, tools, tool_choice: 'required', response_format: schemaFormat });
    assert.equal(body['choices'][0].message.tool_calls[0].function.name, 'get_weather');
  });
});

describe('anthropic simulator: structured outputs and prefill', () => {
  const url = (): string => `${anthropic.url}/v1/messages`;
  const base = { model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, messages: [{ role: 'user', content: USER }] };
  const outputConfig = { format: { type: 'json_schema', schema: BOOKING_SCHEMA } };

  it('output_config.format json_schema: the text block is JSON fitting the schema', async () => {
    const body = await json(url(), { ...base, output_config: outputConfig });
    assert.equal(body['content'][0].type, 'text');
    assertFits(BOOKING_SCHEMA, JSON.parse(body['content'][0].text));
    assert.equal(body['usage'].output_tokens, Math.ceil(body['content'][0].text.length / 4));
  });

  it('streams it in text deltas', async () => {
    const evs = await events(url(), { ...base, stream: true, output_config: outputConfig });
    const text = evs.filter((e) => e['type'] === 'content_block_delta').map((e) => e['delta'].text).join('');
    assertFits(BOOKING_SCHEMA, JSON.parse(text));
  });

  it('a prefill starting with "{" is continued as a JSON object, without repeating it', async () => {
    const body = await json(url(), { ...base, messages: [...base.messages, { role: 'assistant', content: '{' }] });
    const text: string = body['content'][0].text;
    assert.ok(!text.startsWith('{'), text);
    assert.match(JSON.parse(`{${text}`).answer, /Book a hotel/);
  });

  it("follows the system instruction the gateway sends for json_object, and a schema written there", async () => {
    const told = await json(url(), { ...base, system: [{ type: 'text', text: 'Be concise.' }, { type: 'text', text: JSON_OBJECT_INSTRUCTION }] });
    assert.match(JSON.parse(told['content'][0].text).answer, /Book a hotel/);
    const system = `Answer with JSON matching ${JSON.stringify(WEATHER_SCHEMA)}\n${JSON_OBJECT_INSTRUCTION}`;
    const shaped = await json(url(), { ...base, system });
    assertFits(WEATHER_SCHEMA, JSON.parse(shaped['content'][0].text));
  });

  it('refuses a format that is not json_schema', async () => {
    const r = await post(url(), { ...base, output_config: { format: { type: 'json_object' } } });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.text).error.message, /output_config\.format\.type/);
  });
});

describe('gemini simulator: responseMimeType, response schemas and candidateCount', () => {
  const gen = (): string => `${gemini.url}/v1beta/models/gemini-2.5-flash:generateContent`;
  const stream = (): string => `${gemini.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`;
  const base = { contents: [{ role: 'user', parts: [{ text: USER }] }] };

  it('responseJsonSchema: JSON fitting it', async () => {
    const body = await json(gen(), { ...base, generationConfig: { responseMimeType: 'application/json', responseJsonSchema: BOOKING_SCHEMA } });
    assertFits(BOOKING_SCHEMA, JSON.parse(body['candidates'][0].content.parts[0].text));
  });

  it('responseSchema (OpenAPI subset, upper-case types) and the snake_case spelling', async () => {
    const schema = { type: 'OBJECT', properties: { city: { type: 'STRING' }, days: { type: 'INTEGER', minimum: 2 } }, required: ['city', 'days'] };
    const body = await json(gen(), { ...base, generation_config: { response_mime_type: 'application/json', response_schema: schema } });
    const value = JSON.parse(body['candidates'][0].content.parts[0].text);
    assert.equal(typeof value.city, 'string');
    assert.ok(Number.isInteger(value.days) && value.days >= 2);
  });

  it('application/json without a schema: a JSON object', async () => {
    const body = await json(gen(), { ...base, generationConfig: { responseMimeType: 'application/json' } });
    assert.match(JSON.parse(body['candidates'][0].content.parts[0].text).answer, /Book a hotel/);
  });

  it('candidateCount: that many candidates with their indexes, tokens summed', async () => {
    const body = await json(gen(), { ...base, generationConfig: { candidateCount: 2 } });
    assert.deepEqual(body['candidates'].map((c: Json) => c['index']), [0, 1]);
    const texts: string[] = body['candidates'].map((c: Json) => c['content'].parts[0].text);
    assert.notEqual(texts[0], texts[1]);
    assert.equal(body['usageMetadata'].candidatesTokenCount, texts.reduce((s, t) => s + Math.ceil(t.length / 4), 0));
  });

  it('streams candidates side by side, each finishing once, usage cumulative over all', async () => {
    const chunks = await events(stream(), { ...base, generationConfig: { candidateCount: 2, responseMimeType: 'application/json', responseJsonSchema: WEATHER_SCHEMA } }, '\r\n\r\n');
    const text = ['', ''];
    const finishes = [0, 0];
    let last = 0;
    for (const c of chunks) {
      for (const cand of c['candidates']) {
        text[cand.index] += cand.content.parts.map((p: Json) => p['text'] ?? '').join('');
        if (cand.finishReason !== undefined) finishes[cand.index]! += 1;
      }
      const count = c['usageMetadata'].candidatesTokenCount ?? 0;
      assert.ok(count >= last, 'cumulative');
      last = count;
    }
    assert.deepEqual(finishes, [1, 1]);
    for (const t of text) assertFits(WEATHER_SCHEMA, JSON.parse(t));
    assert.equal(last, text.reduce((s, t) => s + Math.ceil(t.length / 4), 0));
  });

  it('refuses a schema without the JSON mime type, and a candidateCount below 1', async () => {
    for (const generationConfig of [{ responseJsonSchema: WEATHER_SCHEMA }, { candidateCount: 0 }]) {
      const r = await post(gen(), { ...base, generationConfig });
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.text).error.status, 'INVALID_ARGUMENT');
    }
  });
});
