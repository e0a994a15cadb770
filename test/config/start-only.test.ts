import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { parseDocument } from 'yaml';
import { Gateway } from '../../src/gateway.ts';
import { loadConfigFile } from '../../src/config/loader.ts';
import { startOnlyChanges } from '../../src/config/start-only.ts';
import { DEMO_CONFIG, DEMO_ENV, scratchDir } from '../support/unit/config.ts';

const scratch = scratchDir();
after(() => scratch.cleanup());

/** The demo config with `edits` (gateway.yaml paths → values) set. */
function demoWith(edits: Array<[string[], unknown]>): string {
  const doc = parseDocument(readFileSync(DEMO_CONFIG, 'utf8'));
  for (const [p, v] of edits) doc.setIn(p, doc.createNode(v));
  return doc.toString();
}

const load = (edits: Array<[string[], unknown]>) => loadConfigFile(scratch.write(`c${Math.random()}.yaml`, demoWith(edits)), DEMO_ENV, 1);

test('startOnlyChanges names each start-only setting that changed, as a gateway.yaml path', () => {
  const start = load([]);
  assert.deepEqual(startOnlyChanges(start, load([])), []);
  const next = load([
    [['observability', 'tracing'], { otlpEndpoint: 'collector:4317' }],
    [['observability', 'requestLog', 'file'], { path: '/tmp/gw.log' }],
    [['server', 'listen'], '127.0.0.1:1'],
    [['server', 'maxBodyBytes'], 64 * 1024 * 1024],
  ]);
  assert.deepEqual(startOnlyChanges(start, next), ['server.listen', 'server.maxBodyBytes', 'observability.tracing', 'observability.requestLog.file']);
  // An address the command line set is not the config's to change; a lower body limit applies at once.
  assert.deepEqual(startOnlyChanges(start, load([[['server', 'listen'], '127.0.0.1:1'], [['server', 'maxBodyBytes'], 1024 * 1024]]), { listen: true }), []);
});

test('a reload that changes start-only settings logs one warning naming them; content.teams without a key is a warning at load', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const file = scratch.write('gateway.yaml', demoWith([[['observability', 'requestLog', 'content'], { teams: ['demo', 'nosuchteam'] }]]));
  const gw = await Gateway.start({ configFile: file, env: DEMO_ENV, listen: '127.0.0.1:0', metricsListen: '127.0.0.1:0', adminListen: '127.0.0.1:0', logger: pino({ level: 'info' }, sink) });
  try {
    const teamWarnings = (): Array<Record<string, unknown>> => lines.filter((l) => l['level'] === 40 && Array.isArray(l['teams']));
    assert.deepEqual(teamWarnings().map((l) => l['teams']), [['nosuchteam']]);
    assert.match(String(teamWarnings()[0]!['msg']), /nosuchteam, which no gateway\.yaml key belongs to/);

    scratch.write('gateway.yaml', demoWith([
      [['observability', 'tracing'], { otlpEndpoint: 'collector:4317' }],
      [['observability', 'requestLog', 'file'], { path: `${scratch.dir}/gw.log` }],
    ]));
    for (let i = 0; i < 100 && !lines.some((l) => l['msg'] === 'config reloaded'); i++) await sleep(100);
    const restart = lines.filter((l) => l['level'] === 40 && /after a restart/.test(String(l['msg'])));
    assert.equal(restart.length, 1);
    assert.deepEqual(restart[0]!['fields'], ['observability.tracing', 'observability.requestLog.file']);
    assert.equal(teamWarnings().length, 1, 'the new config names no unknown team');
  } finally {
    await gw.stop();
  }
});
