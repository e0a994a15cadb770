import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import { modelCacheModeSchema, responseCacheSettingsSchema } from '../../../src/policy/response-cache/cache-config.ts';
import { parseCacheControl } from '../../../src/policy/response-cache/cache-control.ts';
import { decideCache } from '../../../src/policy/response-cache/cache-policy.ts';
import type { ModelCacheMode } from '../../../src/policy/response-cache/cache-config.ts';

const BASE = { model: 'm', messages: [{ role: 'user', content: 'Hi' }] };
const RW = { read: true, write: true };

/** [case, request fields, auto, on, off]: `read` (a lookup), or the bypass reason. */
const TABLE: Array<[string, Record<string, unknown>, string, string, string]> = [
  ['temperature 0 + max_tokens', { temperature: 0, max_tokens: 10 }, 'read', 'read', 'disabled'],
  ['temperature 0 + max_completion_tokens', { temperature: 0, max_completion_tokens: 10 }, 'read', 'read', 'disabled'],
  ['no temperature (OpenAI default 1)', { max_tokens: 10 }, 'not_deterministic', 'read', 'disabled'],
  ['temperature 0.7', { temperature: 0.7, max_tokens: 10 }, 'not_deterministic', 'read', 'disabled'],
  ['temperature null', { temperature: null, max_tokens: 10 }, 'not_deterministic', 'read', 'disabled'],
  ['temperature 0, no output limit', { temperature: 0 }, 'no_output_limit', 'read', 'disabled'],
  ['n 3 at temperature 0', { temperature: 0, max_tokens: 10, n: 3 }, 'read', 'read', 'disabled'],
  ['seed', { temperature: 0, max_tokens: 10, seed: 1 }, 'read', 'read', 'disabled'],
  ['logprobs', { temperature: 0, max_tokens: 10, logprobs: true, top_logprobs: 2 }, 'read', 'read', 'disabled'],
  ['tools + tool_choice required', { temperature: 0, max_tokens: 10, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' }, 'read', 'read', 'disabled'],
  ['stream + include_usage', { temperature: 0, max_tokens: 10, stream: true, stream_options: { include_usage: true } }, 'read', 'read', 'disabled'],
  ['web_search_options', { temperature: 0, max_tokens: 10, web_search_options: {} }, 'live_input', 'read', 'disabled'],
  ['store: true', { temperature: 0, max_tokens: 10, store: true }, 'provider_side_effect', 'provider_side_effect', 'disabled'],
  ['store: false', { temperature: 0, max_tokens: 10, store: false }, 'read', 'read', 'disabled'],
  ['audio output (modalities)', { temperature: 0, max_tokens: 10, modalities: ['text', 'audio'] }, 'audio_output', 'audio_output', 'disabled'],
  ['audio output (audio)', { temperature: 0, max_tokens: 10, audio: { voice: 'alloy', format: 'mp3' } }, 'audio_output', 'audio_output', 'disabled'],
];

describe('cache eligibility per model mode', () => {
  for (const [name, fields, ...expected] of TABLE) {
    it(name, () => {
      const request = chatRequestSchema.parse({ ...BASE, ...fields });
      const got = (['auto', 'on', 'off'] as ModelCacheMode[]).map((mode) => {
        const d = decideCache(request, mode, RW);
        if (d.read) assert.equal(d.write, true);
        else assert.equal(d.write, false, `${mode}: a bypass for ${d.reason} must not write`);
        return d.read ? 'read' : d.reason;
      });
      assert.deepEqual(got, expected);
    });
  }

  it('the gateway-wide switch wins over every mode', () => {
    const request = chatRequestSchema.parse({ ...BASE, temperature: 0, max_tokens: 10 });
    for (const mode of ['auto', 'on'] as const) assert.deepEqual(decideCache(request, mode, RW, false), { read: false, write: false, reason: 'disabled' });
  });

  it('modes default to auto; settings have defaults and refuse unknown keys', () => {
    assert.equal(modelCacheModeSchema.parse(undefined), 'auto');
    assert.throws(() => modelCacheModeSchema.parse('always'));
    assert.deepEqual(responseCacheSettingsSchema.parse(undefined), { enabled: true, ttlSeconds: 3600, maxEntryBytes: 1048576 });
    assert.throws(() => responseCacheSettingsSchema.parse({ ttl: 5 }));
  });
});

describe("the caller's cache-control", () => {
  const cases: Array<[string | undefined, { read: boolean; write: boolean }]> = [
    [undefined, { read: true, write: true }],
    ['', { read: true, write: true }],
    ['max-age=60', { read: true, write: true }],
    ['no-cache', { read: false, write: true }],
    ['No-Cache', { read: false, write: true }],
    ['max-age=0', { read: false, write: true }],
    ['no-cache="x-foo"', { read: false, write: true }],
    ['no-store', { read: false, write: false }],
    ['max-age=5, NO-STORE', { read: false, write: false }],
    ['no-cache, no-store', { read: false, write: false }],
    ['no-transform', { read: true, write: true }],
    ['no-cachex', { read: true, write: true }],
  ];
  for (const [header, expected] of cases) it(`${JSON.stringify(header)} → read ${expected.read}, write ${expected.write}`, () => assert.deepEqual(parseCacheControl(header), expected));

  const eligible = chatRequestSchema.parse({ ...BASE, temperature: 0, max_tokens: 10 });
  it('no-cache: not read, but written (a refresh)', () => {
    assert.deepEqual(decideCache(eligible, 'auto', parseCacheControl('no-cache')), { read: false, write: true, reason: 'no_cache' });
  });
  it('no-store: neither read nor written', () => {
    assert.deepEqual(decideCache(eligible, 'auto', parseCacheControl('no-store')), { read: false, write: false, reason: 'no_store' });
  });
  it('an ineligible request reports why it is ineligible, whatever the header says', () => {
    const hot = chatRequestSchema.parse({ ...BASE, temperature: 1, max_tokens: 10 });
    assert.equal(decideCache(hot, 'auto', parseCacheControl('no-cache')).reason, 'not_deterministic');
  });
});
