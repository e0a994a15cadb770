import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/errors.ts';
import { buildRuntimeConfig } from '../../../src/config/runtime.ts';
import { gatewayConfigSchema } from '../../../src/config/schema.ts';
import { limitsConfig } from './fixture.ts';

const parse = (limits: unknown, rateLimited: unknown = {}) =>
  gatewayConfigSchema.safeParse({
    providers: { a: { dialect: 'openai', apiKeyEnv: 'K', limits } },
    models: { m: { pricing: { free: true }, targets: [{ provider: 'a', model: 'x' }] } },
    keys: [{ name: 'k', fromEnv: 'K' }],
    routing: { health: { rateLimited } },
  });
const issue = (r: ReturnType<typeof parse>): string => (r.success ? 'ok' : `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);

describe('gateway.yaml providers.<name>.limits and routing.health.rateLimited.maxWaitMs', () => {
  test('compiled per target: counters, windows and limits', () => {
    const c = limitsConfig({ a: { x: { requestsPerMinute: 60, tokensPerMinute: 1000 } } });
    assert.equal(c.providerLimits.empty, false);
    assert.deepEqual(
      c.providerLimits.rulesFor('a/x').map((r) => [r.unit, r.counter, r.windowMs, r.limit]),
      [
        ['requests', 'provider:a/x/rpm', 60_000, 60],
        ['tokens', 'provider:a/x/tpm', 60_000, 1000],
      ],
    );
    assert.deepEqual(c.providerLimits.rulesFor('b/x'), []);
    assert.equal(limitsConfig().providerLimits.empty, true);
    assert.equal(c.routingHealth.rateLimited.maxWaitMs, 2000, 'the default wait');
  });

  test('precise errors', () => {
    assert.equal(issue(parse({ x: {} })), 'providers.a.limits.x: set requestsPerMinute, tokensPerMinute or both');
    assert.equal(issue(parse({ x: { requestsPerMinute: 0 } })), 'providers.a.limits.x.requestsPerMinute: requestsPerMinute: at least 1');
    assert.equal(issue(parse({ x: { tokensPerMinute: 1.5 } })), 'providers.a.limits.x.tokensPerMinute: tokensPerMinute: a whole number');
    assert.match(issue(parse({ x: { rpm: 5 } })), /^providers\.a\.limits\.x: unknown key\(s\) "rpm" \(expected: requestsPerMinute, tokensPerMinute\)$/);
    assert.match(issue(parse({ x: { requestsPerMinute: 1 } }, { maxWaitMs: 5000 })), /^routing\.health\.rateLimited\.maxWaitMs: maxWaitMs: at most 4000 ms/);
    assert.equal(issue(parse({ x: { requestsPerMinute: 1 } }, { maxWaitMs: 0 })), 'ok', '0: no wait');
  });

  test("a limit for a provider model no model's target uses is refused, naming its path", () => {
    const file = parse({ 'gpt-4o-mni': { requestsPerMinute: 5 } });
    assert.ok(file.success);
    assert.throws(
      () => buildRuntimeConfig(file.data, 'gateway.yaml', { K: 'k' }, 1),
      (e: unknown) => e instanceof ConfigError && e.where === 'providers.a.limits.gpt-4o-mni' && /no model's target uses a\/gpt-4o-mni/.test(e.message),
    );
  });
});
