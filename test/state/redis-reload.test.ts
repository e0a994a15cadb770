import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { parseDocument } from 'yaml';
import { Gateway } from '../../src/gateway.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { redisCli, startRedis } from '../support/redis-server.ts';
import { DEMO_CONFIG, DEMO_ENV, scratchDir } from '../support/unit/config.ts';

/** gateway.yaml `server.state` through Gateway.start and a hot reload, on a real redis-server. */
const redis = await startRedis();
after(() => redis.stop());

function configWith(state: unknown): string {
  const doc = parseDocument(readFileSync(DEMO_CONFIG, 'utf8'));
  doc.setIn(['server', 'state'], doc.createNode(state));
  return doc.toString();
}

test('server.state reaches the Redis store; on reload the command timeout applies and the rest is one warning', async () => {
  const scratch = scratchDir();
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const file = scratch.write('gateway.yaml', configWith({ redis: { keyPrefix: 'reload-a:', commandTimeoutMs: 400 } }));
  const gw = await Gateway.start({
    configFile: file,
    env: { ...DEMO_ENV, REDIS_URL: redis.url },
    listen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    logger: pino({ level: 'info' }, sink),
  });
  try {
    assert.ok(gw.state instanceof RedisStateStore);
    const ready = lines.find((l) => l['msg'] === 'gateway ready');
    assert.equal(ready?.['state'], 'redis');
    assert.equal(ready?.['redis_mode'], 'single');
    // The prefix from gateway.yaml is the one the store writes under.
    await gw.state.putRecord('probe', 'p1', 'x');
    assert.equal(await redisCli(redis.port, 'EXISTS', 'reload-a:r:{r:probe}:p1'), '1');

    const waitFor = async (pred: (l: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> => {
      for (let i = 0; i < 100; i++) {
        const hit = lines.find(pred);
        if (hit) return hit;
        await sleep(100);
      }
      throw new Error(`no log line: ${what}`);
    };
    // Only the command timeout: applied, no warning.
    scratch.write('gateway.yaml', configWith({ redis: { keyPrefix: 'reload-a:', commandTimeoutMs: 300 } }));
    await waitFor((l) => l['msg'] === 'config reloaded', 'first reload');
    assert.equal(lines.filter((l) => l['level'] === 40 && /restart/.test(String(l['msg']))).length, 0);
    // The prefix and the connect timeout: the reload is applied, with one warning naming both.
    const before = lines.filter((l) => l['msg'] === 'config reloaded').length;
    scratch.write('gateway.yaml', configWith({ redis: { keyPrefix: 'reload-b:', commandTimeoutMs: 300, connectTimeoutMs: 900 } }));
    await waitFor((l) => l['msg'] === 'config reloaded' && lines.filter((x) => x['msg'] === 'config reloaded').length > before, 'second reload');
    const warnings = lines.filter((l) => l['level'] === 40 && /restart/.test(String(l['msg'])));
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0]!['fields'], ['server.state.redis.connectTimeoutMs', 'server.state.redis.keyPrefix']);
    assert.match(String(warnings[0]!['msg']), /keeps the old value until the gateway restarts/);
    // Still the old prefix until a restart.
    await gw.state.putRecord('probe', 'p2', 'x');
    assert.equal(await redisCli(redis.port, 'EXISTS', 'reload-a:r:{r:probe}:p2'), '1');
  } finally {
    await gw.stop();
    scratch.cleanup();
  }
});
