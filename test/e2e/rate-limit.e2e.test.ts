import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { demoSupportKey } from '../../src/cli/stack.ts';
import { startTestStack, type ErrorBody, type TestStack } from '../support/e2e.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';

/**
 * Rate limits through the real Envoy: two gateway replicas (each its own Envoy and ext_proc)
 * sharing one redis-server, callers on the official openai SDK or raw HTTP.
 */
const RATE_LIMITS = `
rateLimits:
  keys:
    demo: { requestsPerMinute: 50 }
  teams:
    support:
      features:
        support-bot: { requestsPerMinute: 1000, tokensPerMinute: 3000 }
`;

const DURATION = /^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$/;

describe('rate limits across two replicas sharing Redis (e2e)', () => {
  let redis: TestRedis;
  let dir: string;
  const replicas: TestStack[] = [];
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-rl-e2e-'));
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, demoConfigWithoutPolicies() + RATE_LIMITS);
    // One after the other: the machine is small, and each start is Envoy + ext_proc + simulators.
    for (let i = 0; i < 2; i++) replicas.push(await startTestStack({ configFile, demoKey, env: { REDIS_URL: redis.url } }));
  });
  after(async () => {
    for (const r of replicas) await r.dispose();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const support = (r: TestStack): OpenAI => r.client({ apiKey: demoSupportKey(demoKey) });

  it('an admitted response carries OpenAI\'s x-ratelimit-* headers', async () => {
    const { response } = await support(replicas[0]!)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 100 })
      .withResponse();
    const h = (n: string): string | null => response.headers.get(n);
    assert.equal(h('x-ratelimit-limit-requests'), '1000');
    assert.equal(h('x-ratelimit-remaining-requests'), '999');
    assert.equal(h('x-ratelimit-limit-tokens'), '3000');
    // Reserved: the prompt estimate (characters / 4) + max_tokens.
    const remaining = Number(h('x-ratelimit-remaining-tokens'));
    assert.ok(remaining < 3000 - 100 && remaining >= 0, `remaining tokens ${remaining}`);
    assert.match(h('x-ratelimit-reset-requests') ?? '', DURATION);
    assert.match(h('x-ratelimit-reset-tokens') ?? '', DURATION);
  });

  it('a request larger than a token limit is a 429 the SDK does not retry', async () => {
    await assert.rejects(
      support(replicas[1]!).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5000 }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError, String(err));
        assert.equal(err.status, 429);
        assert.equal(err.type, 'tokens');
        assert.equal(err.code, 'rate_limit_exceeded');
        assert.match(err.message, /Request too large for gpt-4o-mini for feature support-bot of team support on tokens per min \(TPM\): Limit 3000/);
        assert.equal(err.headers?.get('x-should-retry'), 'false');
        assert.equal(err.headers?.get('retry-after'), null);
        assert.equal(err.headers?.get('x-ratelimit-limit-tokens'), '3000');
        return true;
      },
    );
  });

  it('a burst of 200 concurrent requests from one key with a limit of 50 admits exactly 50 across both replicas', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 });
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await replicas[i % 2]!.raw('/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: `Bearer ${demoKey}`, 'content-type': 'application/json' },
          body,
        });
        const json = (await res.json()) as ErrorBody;
        if (res.status === 429) assert.equal(json.error.code, 'rate_limit_exceeded');
        return res.status;
      }),
    );
    assert.equal(statuses.filter((s) => s === 200).length, 50);
    assert.equal(statuses.filter((s) => s === 429).length, 150, `statuses: ${[...new Set(statuses)].join(', ')}`);

    // The next one, through the SDK: OpenAI's 429 with retry-after and the limit's headers.
    await assert.rejects(replicas[0]!.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.type, 'requests');
      assert.match(err.message, /^429 Rate limit reached for gpt-4o-mini for this key on requests per min \(RPM\): Limit 50, Used 50, Requested 1\. Please try again in /);
      const retryAfter = Number(err.headers?.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 66, `retry-after ${retryAfter}`);
      assert.equal(err.headers?.get('x-ratelimit-limit-requests'), '50');
      assert.equal(err.headers?.get('x-ratelimit-remaining-requests'), '0');
      assert.match(err.headers?.get('x-ratelimit-reset-requests') ?? '', DURATION);
      return true;
    });
  });

  it('Redis killed: fail-closed (the default) answers 503, and the gateway recovers when Redis returns', async () => {
    await redis.kill();
    const res = await replicas[1]!.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${demoSupportKey(demoKey)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 }),
    });
    const json = (await res.json()) as ErrorBody;
    assert.equal(res.status, 503);
    assert.equal(json.error.type, 'service_unavailable_error');
    assert.equal(json.error.code, 'state_unavailable');
    assert.equal(res.headers.get('retry-after'), '1');

    await redis.restart();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      const r = await replicas[1]!.raw('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${demoSupportKey(demoKey)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 }),
      });
      await r.arrayBuffer();
      status = r.status;
      if (status !== 200) {
        assert.equal(status, 503);
        await sleep(100);
      }
    }
    assert.equal(status, 200, 'the same replica admits again once Redis is back, without a restart');
  });
});
