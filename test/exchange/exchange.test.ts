import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { chatRequestSchema } from '../../src/openai/chat-request.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../support/unit/config.ts';

const config = loadConfigFile(DEMO_CONFIG, DEMO_ENV, 1);

test("a fresh UUID id (never the caller's x-request-id, which is kept apart); a chatcmpl- completion id", () => {
  const a = new Exchange(config, 'rid');
  const b = new Exchange(config, 'rid');
  assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a.id, b.id);
  assert.equal(a.clientRequestId, 'rid');
  assert.equal(new Exchange(config, undefined).clientRequestId, undefined);
  assert.match(a.completionId, /^chatcmpl-[0-9a-f]{24}$/);
  assert.notEqual(a.completionId, b.completionId);
  assert.ok(Math.abs(a.created - Date.now() / 1000) < 5);
  assert.equal(a.config, config);
  assert.equal(a.lastAttempt, undefined);
});

test('translationFor: built per target with its provider model, cached per target', () => {
  const ex = new Exchange(config, 'rid');
  ex.model = config.models.get('chat-default')!;
  ex.request = chatRequestSchema.parse({ model: 'chat-default', messages: [{ role: 'user', content: 'hi' }] });
  const first = ex.translationFor(0);
  assert.equal(ex.translationFor(0), first);
  assert.equal(first.path, '/messages');
  const third = ex.translationFor(2);
  assert.equal(third.path, '/chat/completions');
  assert.equal((JSON.parse(Buffer.from(third.body).toString()) as { model: string }).model, 'gpt-4o-mini');
});
