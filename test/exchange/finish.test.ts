import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { finishExchange } from '../../src/exchange/finish.ts';
import { UNRESTRICTED_SCOPE } from '../../src/policy/model-scope.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../support/unit/config.ts';
import { memorySinks } from '../support/unit/sinks.ts';

const config = loadConfigFile(DEMO_CONFIG, DEMO_ENV, 1);

test('one request line and the metrics for a finished exchange', async () => {
  const { sinks, lines } = memorySinks();
  const ex = new Exchange(config, 'r1');
  ex.caller = { name: 'demo', team: 't', scope: UNRESTRICTED_SCOPE, disabled: false };
  ex.model = config.models.get('gpt-4o-mini')!;
  ex.attempts.push({ provider: ex.model.targets[0]!.provider, providerModel: 'gpt-4o-mini', number: 1, key: ex.model.targets[0]!.key, startedAtMs: 0 });
  ex.attempts.push({ provider: ex.model.targets[1]!.provider, providerModel: 'gpt-4o-mini', number: 2, key: ex.model.targets[1]!.key, startedAtMs: 0 });
  ex.status = 200;
  ex.usage = { promptTokens: 10, completionTokens: 5, cachedTokens: 2 };
  finishExchange(ex, 'completed', sinks);

  const [line, ...more] = lines();
  assert.equal(more.length, 0);
  assert.equal(line!['msg'], 'request');
  assert.equal(line!['provider'], 'openai-backup', 'the provider that answered is the last attempt');
  assert.equal(line!['attempts'], 2);
  assert.deepEqual([line!['tokens_in'], line!['tokens_out'], line!['tokens_cached']], [10, 5, 2]);

  const requests = await sinks.metrics.requests.get();
  assert.deepEqual(
    requests.values.map((v) => [v.labels, v.value]),
    [[{ model: 'gpt-4o-mini', provider: 'openai-backup', status: '200', stream: 'false', outcome: 'completed' }, 1]],
  );
  const tokens = await sinks.metrics.tokens.get();
  assert.deepEqual(
    tokens.values.map((v) => [v.labels['direction'], v.value]).sort(),
    [
      ['input', 10],
      ['output', 5],
    ],
  );
});

test('an exchange that never got far: empty labels, status 0, aborted, no token metrics', async () => {
  const { sinks, lines } = memorySinks();
  finishExchange(new Exchange(config, 'r2'), 'aborted', sinks);
  const line = lines()[0]!;
  assert.deepEqual([line['model'], line['provider'], line['status'], line['outcome'], line['attempts']], ['', '', 0, 'aborted', 0]);
  assert.equal((await sinks.metrics.tokens.get()).values.length, 0);
});
