import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Gateway } from '../../../src/gateway.ts';
import { PROBE_HEADER, PROBE_TARGET_HEADER } from '../../../src/routing/health/probes/probe-gate.ts';

/**
 * The gateway's wiring of active probes, in-process: with `routing.health.probes` and
 * $GATEWAY_PROBE_URL it sends probes to that listener (standing in for its Envoy), with the
 * secret and the target; a reload without `probes` stops them; stop() leaves no timer.
 */
const silent = pino({ level: 'silent' });

const yaml = (probes: boolean): string => `
server: { listen: 127.0.0.1:0, metricsListen: 127.0.0.1:0 }
providers:
  a: { dialect: openai, apiKeyEnv: K }
models:
  m: { targets: [{ provider: a, model: x, pricing: { free: true } }] }
keys:
  - { name: k, team: t, fromEnv: K }
${probes ? 'routing: { health: { probes: { intervalMs: 1000, maxTokens: 3 } } }' : ''}
`;

async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('probes go to $GATEWAY_PROBE_URL with the secret and the target; a reload without probes stops them', { timeout: 30_000 }, async () => {
  const got: Array<{ headers: IncomingMessage['headers']; body: { model: string; max_tokens: number; messages: unknown } }> = [];
  const listener = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(text) as (typeof got)[number]['body'] });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-probes-gw-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, yaml(true));
  const url = `http://127.0.0.1:${(listener.address() as { port: number }).port}`;
  const gw = await Gateway.start({ configFile, env: { K: 'sk-test-key', GATEWAY_PROBE_URL: url }, logger: silent, listen: '127.0.0.1:0', metricsListen: '127.0.0.1:0' });
  try {
    await until('a first probe', 10_000, () => got.length > 0);
    const first = got[0]!;
    assert.equal(first.headers[PROBE_TARGET_HEADER], 'a/x');
    assert.match(String(first.headers[PROBE_HEADER]), /^[\w-]{43}$/, 'the per-process secret');
    assert.equal(first.body.model, 'm');
    assert.equal(first.body.max_tokens, 3);
    assert.deepEqual(first.body.messages, [{ role: 'user', content: 'ping' }]);
    let counted = '';
    const okSeries = /gateway_health_probes_total\{target="a\/x",outcome="ok"\} [1-9]/;
    for (let i = 0; i < 100 && !okSeries.test(counted); i++) {
      counted = await gw.metrics.registry.getSingleMetricAsString('gateway_health_probes_total');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(counted, okSeries, 'the outcome is counted');

    const version = gw.configs.current.version;
    writeFileSync(configFile, yaml(false));
    await until('the reload applied', 10_000, () => gw.configs.current.version > version);
    const seen = got.length;
    // Well past two intervals: a probe in flight at the reload may still land, none after it.
    await new Promise((r) => setTimeout(r, 2_500));
    assert.ok(got.length <= seen + 1, `probes after the reload turned them off: ${got.length - seen}`);
  } finally {
    await gw.stop();
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
