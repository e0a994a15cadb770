import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InternalError } from '../../src/errors/gateway-error.ts';
import { logError } from '../../src/observability/logger.ts';

test('an error in a log line has its class, code and scrubbed message, never a stack or a secret', () => {
  const err = new InternalError('lookup failed at api.openai.com with sk-abcdefghijklmnop', {
    code: 'exchange_state_missing',
    cause: { upstreamStatus: 503, kind: 'overloaded', cause: new TypeError('fetch failed for 10.1.2.3:443') },
  });
  const logged = logError(err);
  const text = JSON.stringify(logged);
  assert.deepEqual(logged, {
    type: 'InternalError',
    message: 'lookup failed at [redacted] with [redacted]',
    code: 'exchange_state_missing',
    status: 500,
    cause: { upstreamStatus: 503, kind: 'overloaded', cause: { type: 'TypeError', message: 'fetch failed for [redacted]' } },
  });
  assert.doesNotMatch(text, /\bat .*\.ts:\d+|node:internal|stack/);
});
