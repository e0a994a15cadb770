import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { GatewayError, PermissionError } from '../../src/errors/gateway-error.ts';
import { PolicyPipeline, type PolicyStep, type Verdict } from '../../src/policy/pipeline.ts';
import { compileRateLimits, type RateLimitPolicy } from '../../src/policy/rate-limit-config.ts';
import { RateLimitExceededError } from '../../src/policy/rate-limit-errors.ts';
import { rateLimitsSchema } from '../../src/policy/rate-limit-schema.ts';
import { rateLimitStep, type RateLimitStep, type RateLimitStepOptions } from '../../src/policy/rate-limit.ts';
import type { Settlement } from '../../src/policy/settlement.ts';
import type { StateStore } from '../../src/state/store.ts';

/** A request as the tests see it: who calls, and how many tokens it reserves. */
export interface Req {
  readonly id: string;
  readonly caller: { readonly name: string; readonly team: string; readonly feature?: string };
  readonly tokens: number;
}

export const uid = (): string => randomUUID().slice(0, 8);

/** gateway.yaml `rateLimits:` (as parsed YAML) compiled, with the key names it may name. */
export function policy(section: unknown, keyNames: readonly string[] = []): RateLimitPolicy {
  return compileRateLimits(rateLimitsSchema.parse(section), new Set(keyNames), 'test.yaml');
}

export function makeStep(store: StateStore, p: RateLimitPolicy, extra: Partial<RateLimitStepOptions<Req>> = {}): RateLimitStep<Req> {
  return rateLimitStep<Req>({
    store,
    view: (r) => ({ requestId: r.id, caller: r.caller, policy: p, model: 'gpt-4o-mini', tokenEstimate: () => r.tokens }),
    ...extra,
  });
}

export const req = (caller: Req['caller'], tokens = 0): Req => ({ id: `req-${randomUUID()}`, caller, tokens });

/** Admits; returns the granted headers, or throws what the step threw. */
export async function admit(step: PolicyStep<Req, Settlement>, r: Req): Promise<Record<string, string>> {
  const v: Verdict = await step.admit(r);
  assert.equal(v.kind, 'continue');
  return { ...(v.kind === 'continue' ? v.headers : {}) };
}

/** Admits and expects a 429 from the rate-limit step. */
export async function refused(step: PolicyStep<Req, Settlement>, r: Req): Promise<RateLimitExceededError> {
  try {
    await step.admit(r);
  } catch (err) {
    assert.ok(err instanceof RateLimitExceededError, `expected a RateLimitExceededError, got ${String(err)}`);
    return err;
  }
  assert.fail('the request was admitted');
}

export const settlement = (s: Partial<Settlement> = {}): Settlement => ({
  outcome: 'completed',
  usage: undefined,
  estimated: false,
  costNanoUsd: undefined,
  cacheHit: false,
  ...s,
});

/**
 * Cases that hold on every backend without driving its clock (test/policy/rate-limit.test.ts
 * runs them on the embedded store, rate-limit-redis.test.ts on a real redis-server).
 */
export function rateLimitCases(name: string, open: () => Promise<StateStore>): void {
  describe(`rate-limit step: ${name}`, () => {
    let store: StateStore;
    before(async () => {
      store = await open();
    });
    after(() => store.close());

    it('grants with OpenAI x-ratelimit-* headers, then refuses with a 429 in OpenAI shape, retry-after and headers', async () => {
      const team = `t-${uid()}`;
      const step = makeStep(store, policy({ keys: { k: { requestsPerMinute: 2, tokensPerMinute: 1000 } } }, ['k']));
      const caller = { name: 'k', team };
      const h1 = await admit(step, req(caller, 300));
      assert.equal(h1['x-ratelimit-limit-requests'], '2');
      assert.equal(h1['x-ratelimit-remaining-requests'], '1');
      assert.equal(h1['x-ratelimit-limit-tokens'], '1000');
      assert.equal(h1['x-ratelimit-remaining-tokens'], '700');
      for (const k of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
        // Go-style duration, at most one window + one sub-window (66 s with 10 sub-windows).
        assert.match(h1[k]!, /^(\d+ms|\d+(\.\d+)?s|1m[0-6](\.\d+)?s)$/, `${k}: ${h1[k]}`);
      }
      const h2 = await admit(step, req(caller, 300));
      assert.equal(h2['x-ratelimit-remaining-requests'], '0');
      assert.equal(h2['x-ratelimit-remaining-tokens'], '400');

      const err = await refused(step, req(caller, 10));
      const { status, body, headers } = toOpenAIError(err);
      assert.equal(status, 429);
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(body.error.type, 'requests');
      assert.equal(body.error.code, 'rate_limit_exceeded');
      assert.equal(body.error.param, null);
      assert.match(body.error.message, /^Rate limit reached for gpt-4o-mini for this key on requests per min \(RPM\): Limit 2, Used 2, Requested 1\. Please try again in \S+\.$/);
      const retryAfter = Number(headers['retry-after']);
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 66, `retry-after ${headers['retry-after']}`);
      assert.equal(headers['x-ratelimit-limit-requests'], '2');
      assert.equal(headers['x-ratelimit-remaining-requests'], '0');
      assert.ok(headers['x-ratelimit-reset-requests']);
      assert.equal(headers['content-type'], 'application/json');
      await step.close();
    });

    it('settles to the reported usage, lower or higher than reserved, exactly once', async () => {
      const team = `t-${uid()}`;
      const step = makeStep(store, policy({ teams: { [team]: { limits: { tokensPerMinute: 1000 } } } }));
      const caller = { name: 'k', team };
      const a = req(caller, 400);
      assert.equal((await admit(step, a))['x-ratelimit-remaining-tokens'], '600');
      await step.settle!(a, settlement({ usage: { promptTokens: 100, completionTokens: 50 } }));
      // 1000 - 150 settled - 100 reserved now.
      const b = req(caller, 100);
      assert.equal((await admit(step, b))['x-ratelimit-remaining-tokens'], '750');
      // Higher than reserved: the overspend is kept, never clamped.
      await step.settle!(b, settlement({ usage: { promptTokens: 500, completionTokens: 200 } }));
      // A second settle of the same request changes nothing.
      await step.settle!(b, settlement({ usage: { promptTokens: 1, completionTokens: 1 } }));
      await step.release!(b);
      const c = req(caller, 50);
      assert.equal((await admit(step, c))['x-ratelimit-remaining-tokens'], String(1000 - 150 - 700 - 50));
      await step.release!(c);
      // 850 used: 200 more do not fit.
      const over = await refused(step, req(caller, 200));
      assert.equal(over.openaiType, 'tokens');
      assert.match(over.message, new RegExp(`for team ${team} on tokens per min \\(TPM\\): Limit 1000, Used 850, Requested 200\\.`));
      await step.close();
    });

    it('settles a streamed usage, a cut stream\'s estimate, a cache hit and a request no provider answered', async () => {
      const team = `t-${uid()}`;
      const step = makeStep(store, policy({ teams: { [team]: { limits: { tokensPerMinute: 10_000, requestsPerMinute: 100 } } } }));
      const caller = { name: 'k', team };
      const cases: Array<[Settlement, number]> = [
        // A stream whose final chunk carried usage.
        [settlement({ usage: { promptTokens: 20, completionTokens: 30, cachedTokens: 5 } }), 50],
        // The caller disconnected mid-stream: the gateway's estimate of what was spent counts.
        [settlement({ outcome: 'aborted', estimated: true, usage: { promptTokens: 30, completionTokens: 12 } }), 42],
        // Answered from the response cache: no tokens.
        [settlement({ cacheHit: true, costNanoUsd: 0, usage: { promptTokens: 9, completionTokens: 9 } }), 0],
        // Envoy answered (no provider reached): no usage, no tokens.
        [settlement({ outcome: 'failed' }), 0],
      ];
      let spent = 0;
      let requests = 0;
      for (const [s, tokens] of cases) {
        const r = req(caller, 1000);
        await admit(step, r);
        await step.settle!(r, s);
        spent += tokens;
        requests++;
        const probe = req(caller, 1);
        const h = await admit(step, probe);
        await step.release!(probe);
        assert.equal(h['x-ratelimit-remaining-tokens'], String(10_000 - spent - 1), `after ${JSON.stringify(s)}`);
        // Requests stay counted (1 each), also for a cache hit.
        assert.equal(h['x-ratelimit-remaining-requests'], String(100 - requests - 1));
      }
      await step.close();
    });

    it('key, team and feature are all-or-nothing: one over refuses and leaves the others untouched', async () => {
      const team = `t-${uid()}`;
      const p = policy(
        {
          keys: { bot: { requestsPerMinute: 10 } },
          teams: { [team]: { limits: { requestsPerMinute: 100, tokensPerMinute: 500 }, features: { chat: { requestsPerMinute: 1 } } } },
        },
        ['bot'],
      );
      const step = makeStep(store, p);
      const bot = { name: 'bot', team, feature: 'chat' };
      const other = { name: 'other', team };
      await admit(step, req(bot, 10));
      // Over the feature's 1 RPM: refused, nothing else charged.
      const byFeature = await refused(step, req(bot, 10));
      assert.match(byFeature.message, new RegExp(`for feature chat of team ${team} on requests per min`));
      // Over the team's tokens (alone larger than the limit): "Request too large", not retryable.
      const tooLarge = await refused(step, req(other, 600));
      const e = toOpenAIError(tooLarge);
      assert.equal(e.body.error.type, 'tokens');
      assert.match(e.body.error.message, /^Request too large for gpt-4o-mini for team .* on tokens per min \(TPM\): Limit 500, Requested 600\./);
      assert.equal(e.headers['retry-after'], undefined);
      assert.equal(e.headers['x-should-retry'], 'false');
      // The team counted only the one admitted request (1 request, 10 tokens) plus this probe.
      const h = await admit(step, req(other, 5));
      assert.equal(h['x-ratelimit-remaining-requests'], String(100 - 2));
      assert.equal(h['x-ratelimit-remaining-tokens'], String(500 - 10 - 5));
      await step.close();
    });

    it('is released when a later pipeline step refuses', async () => {
      const team = `t-${uid()}`;
      const step = makeStep(store, policy({ teams: { [team]: { limits: { requestsPerMinute: 1 } } } }));
      const refuser: PolicyStep<Req, Settlement> = {
        id: 'scope',
        admit: () => {
          throw new PermissionError('not allowed', { code: 'model_not_permitted' });
        },
      };
      const faults: unknown[] = [];
      const pipeline = new PolicyPipeline<Req, Settlement>([step, refuser], (_s, _p, err) => faults.push(err));
      const caller = { name: 'k', team };
      for (let i = 0; i < 3; i++) {
        await assert.rejects(Promise.resolve().then(() => pipeline.admit(req(caller))), (err: unknown) => err instanceof GatewayError && err.status === 403);
      }
      // Each refused request gave its reservation back: the 1 RPM is still free.
      const h = await admit(step, req(caller));
      assert.equal(h['x-ratelimit-remaining-requests'], '0');
      assert.deepEqual(faults, []);
      await step.close();
    });

    it('a caller with no configured limit costs no state call and gets no headers', async () => {
      const step = makeStep(store, policy({ teams: { other: { limits: { requestsPerMinute: 1 } } } }));
      const v = step.admit(req({ name: 'k', team: `t-${uid()}` }));
      assert.deepEqual(v, { kind: 'continue' });
      await step.close();
    });
  });
}
