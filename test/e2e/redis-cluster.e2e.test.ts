import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestStack, type ErrorBody, type TestStack } from '../support/e2e.ts';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';

/**
 * Two gateway replicas (each its own Envoy and ext_proc) sharing a 3-master Redis Cluster
 * through `REDIS_URL=redis+cluster://…`: the limits hold across the fleet.
 */
const RATE_LIMITS = `
rateLimits:
  keys:
    demo: { requestsPerMinute: 20 }
`;

describe('rate limits across two replicas sharing a Redis Cluster (e2e)', () => {
  let cluster: TestRedisCluster;
  let dir: string;
  const replicas: TestStack[] = [];
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;

  before(async () => {
    cluster = await startRedisCluster(3);
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-cluster-e2e-'));
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, demoConfigWithoutPolicies() + RATE_LIMITS);
    // One after the other: the machine is small, and each start is Envoy + ext_proc + simulators.
    for (let i = 0; i < 2; i++) replicas.push(await startTestStack({ configFile, demoKey, env: { REDIS_URL: cluster.url } }));
  });
  after(async () => {
    for (const r of replicas) await r.dispose();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('each replica says it runs on the Cluster, without naming a host', () => {
    for (const r of replicas) {
      const ready = r.logLines().find((l) => l['msg'] === 'gateway ready');
      assert.ok(ready, 'a gateway ready line');
      assert.equal(ready['state'], 'redis');
      assert.equal(ready['redis_mode'], 'cluster');
      assert.doesNotMatch(JSON.stringify(ready), /127\.0\.0\.1|redis\+cluster/);
    }
  });

  it('a burst of 60 concurrent requests from one key with a limit of 20 admits exactly 20 across both replicas', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 });
    const statuses = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
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
    assert.equal(statuses.filter((s) => s === 200).length, 20, `statuses: ${[...new Set(statuses)].join(', ')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 40);
  });

  it('the SDK through either replica then gets OpenAI\'s 429 for this key', async () => {
    for (const r of replicas) {
      await assert.rejects(r.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }), (err: unknown) => {
        assert.equal((err as { status?: number }).status, 429);
        assert.equal((err as { code?: string }).code, 'rate_limit_exceeded');
        return true;
      });
    }
  });
});
