import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLineFormatter } from '../../src/cli/log-format.ts';

const format = createLineFormatter(false);
const line = (fields: Record<string, unknown>): string => JSON.stringify({ level: 30, time: '2026-01-02T03:04:05.678Z', service: 'llm-extproc', ...fields });

test('a request line becomes one short line: status, model → provider, tokens, latency, outcome', () => {
  const out = format(
    line({ request_id: 'r1', key_name: 'demo', model: 'gpt-4o-mini', provider: 'openai-primary', status: 200, stream: true, outcome: 'completed', tokens_in: 12, tokens_out: 34, latency_ms: 85.4, overhead_ms: 0.1, attempts: 1, msg: 'request' }),
  );
  assert.match(out, /^\[\d\d:\d\d:\d\d\] INFO: 200 gpt-4o-mini → openai-primary stream {2}12 in \/ 34 out tok {2}85 ms {2}completed$/);
  assert.doesNotMatch(out, /\n|request_id|key_name/);
});

test('estimated tokens, errors and refused requests stay readable', () => {
  assert.match(format(line({ model: 'claude-sonnet-4-5', provider: 'anthropic', status: 200, stream: true, outcome: 'aborted', tokens_in: 9, tokens_out: 3, tokens_estimated: true, latency_ms: 4.26, msg: 'request' })), /200 claude-sonnet-4-5 → anthropic stream {2}~9 in \/ ~3 out tok {2}4\.3 ms {2}aborted$/);
  assert.match(format(line({ method: 'POST', path: '/v1/chat/completions', status: 401, outcome: 'rejected', error_code: 'invalid_api_key', msg: 'request' })), /INFO: 401 POST \/v1\/chat\/completions {2}rejected invalid_api_key$/);
  assert.match(format(line({ model: 'm', provider: '', status: 503, outcome: 'failed', error_code: 'upstream_error', latency_ms: 12, msg: 'request' })), /503 m → – {2}12 ms {2}failed upstream_error$/);
});

test('other log lines keep their fields on one line; text that is not a JSON line passes as it is', () => {
  const ready = format(line({ level: 30, extproc_port: 1234, models: ['a'], msg: 'gateway ready' }));
  assert.match(ready, /^\[\d\d:\d\d:\d\d\] INFO: gateway ready \{"extproc_port":1234,"models":\["a"\]\}$/);
  assert.equal(format('config error: something'), 'config error: something');
});
