import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RateLimitError } from '../../src/errors/gateway-error.ts';
import type { Caller, RuntimeConfig, RuntimeModel } from '../../src/config/runtime.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { chatRequestSchema } from '../../src/openai/chat-request.ts';
import { concurrent } from '../../src/policy/concurrent.ts';
import { CONTINUE, PolicyPipeline, type PolicyStep, type Verdict } from '../../src/policy/pipeline.ts';
import { exchangeRateLimitView, requestTokenEstimate } from '../../src/policy/rate-limit-exchange.ts';

interface Req {
  log: string[];
}
type Settlement = { tokens: number };

/** A step that records every call; `verdict` decides admit, sync or async. */
function step(id: string, verdict: (r: Req) => Verdict | Promise<Verdict>, opts: { asyncRelease?: boolean } = {}): PolicyStep<Req, Settlement> {
  return {
    id,
    admit: (r) => {
      r.log.push(`admit ${id}`);
      return verdict(r);
    },
    release: (r) => {
      r.log.push(`release ${id}`);
      if (opts.asyncRelease) return Promise.resolve();
    },
    settle: (r, s) => {
      r.log.push(`settle ${id} ${s.tokens}`);
    },
  };
}

const refuse = (): never => {
  throw new RateLimitError('Rate limit reached.', { code: 'rate_limit_exceeded' });
};
const faults: string[] = [];
const pipeline = (...steps: PolicyStep<Req, Settlement>[]): PolicyPipeline<Req, Settlement> =>
  new PolicyPipeline(steps, (s, phase, err) => faults.push(`${s} ${phase} ${(err as Error).message}`));

describe('PolicyPipeline', () => {
  it('admits synchronously when every step answers synchronously, merging their headers', () => {
    const r: Req = { log: [] };
    const p = pipeline(step('a', () => ({ kind: 'continue', headers: { 'x-a': '1' } })), step('b', () => ({ kind: 'continue', headers: { 'x-b': '2' } })));
    const admission = p.admit(r);
    assert.ok(!(admission instanceof Promise));
    assert.deepEqual(admission.headers, { 'x-a': '1', 'x-b': '2' });
    assert.equal(admission.admitted, 2);
    p.settle(r, admission, { tokens: 7 });
    assert.deepEqual(r.log, ['admit a', 'admit b', 'settle a 7', 'settle b 7']);
  });

  it('goes asynchronous only from the first step that returns a promise, in order', async () => {
    const r: Req = { log: [] };
    const p = pipeline(step('a', () => CONTINUE), step('b', async () => CONTINUE), step('c', () => CONTINUE));
    const admission = p.admit(r);
    assert.ok(admission instanceof Promise);
    assert.equal((await admission).admitted, 3);
    assert.deepEqual(r.log, ['admit a', 'admit b', 'admit c']);
  });

  it('a refusal releases every earlier step, latest first, and is rethrown; later steps never run', () => {
    const r: Req = { log: [] };
    const p = pipeline(step('a', () => CONTINUE), step('b', () => CONTINUE), step('c', refuse), step('d', () => CONTINUE));
    assert.throws(() => p.admit(r), RateLimitError);
    assert.deepEqual(r.log, ['admit a', 'admit b', 'admit c', 'release b', 'release a']);
  });

  it('an async refusal releases the same way and rejects with the refusal', async () => {
    const r: Req = { log: [] };
    const p = pipeline(step('a', () => CONTINUE, { asyncRelease: true }), step('b', async () => CONTINUE), step('c', async () => refuse()));
    await assert.rejects(async () => p.admit(r), RateLimitError);
    assert.deepEqual(r.log, ['admit a', 'admit b', 'admit c', 'release b', 'release a']);
  });

  it('a reply stops the pipeline; the steps that admitted are settled, the others never ran', () => {
    const r: Req = { log: [] };
    const reply = { status: 200, headers: { 'x-gateway-cache': 'hit' }, body: '{}', details: 'llm_extproc_cache' };
    const p = pipeline(step('a', () => CONTINUE), step('cache', () => ({ kind: 'reply', reply })), step('budget', () => CONTINUE));
    const admission = p.admit(r) as Exclude<ReturnType<typeof p.admit>, Promise<unknown>>;
    assert.equal(admission.reply, reply);
    p.settle(r, admission, { tokens: 0 });
    assert.deepEqual(r.log, ['admit a', 'admit cache', 'settle a 0', 'settle cache 0']);
  });

  it('settles once: a second settle or a release after it does nothing', () => {
    const r: Req = { log: [] };
    const p = pipeline(step('a', () => CONTINUE));
    const admission = p.admit(r) as Exclude<ReturnType<typeof p.admit>, Promise<unknown>>;
    p.settle(r, admission, { tokens: 1 });
    p.settle(r, admission, { tokens: 1 });
    p.release(r, admission);
    assert.deepEqual(r.log, ['admit a', 'settle a 1']);
  });

  it('a step that throws while settling or releasing is reported, and the others still run', async () => {
    faults.length = 0;
    const r: Req = { log: [] };
    const broken: PolicyStep<Req, Settlement> = {
      id: 'broken',
      admit: () => CONTINUE,
      release: () => {
        throw new Error('release failed');
      },
      settle: async () => {
        throw new Error('settle failed');
      },
    };
    const p = pipeline(step('a', () => CONTINUE), broken, step('c', () => CONTINUE));
    const admission = p.admit(r) as Exclude<ReturnType<typeof p.admit>, Promise<unknown>>;
    await p.settle(r, admission, { tokens: 3 });
    assert.deepEqual(r.log, ['admit a', 'admit c', 'settle a 3', 'settle c 3']);
    const again = p.admit(r) as Exclude<ReturnType<typeof p.admit>, Promise<unknown>>;
    p.release(r, again);
    assert.deepEqual(faults, ['broken settle settle failed', 'broken release release failed']);
    assert.deepEqual(r.log.slice(-3), ['admit c', 'release c', 'release a']);
  });
});

describe('concurrent', () => {
  /** Resolves `v` (or rejects with `err`) when `open()` is called, so a test decides the order admits settle in. */
  function gate(): { wait: <V>(v: () => V) => Promise<V>; open: () => void } {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { wait: (v) => opened.then(v), open };
  }
  const both = (...members: PolicyStep<Req, Settlement>[]): PolicyStep<Req, Settlement> =>
    concurrent(members, { onFault: (s, phase, err) => faults.push(`${s} ${phase} ${(err as Error).message}`) });

  it('starts every member before any is awaited, merges headers in member order, settles each once', async () => {
    const r: Req = { log: [] };
    const g = gate();
    const c = both(
      step('a', () => g.wait(() => ({ kind: 'continue', headers: { 'x-a': '1', 'x-both': 'a' } }) as Verdict)),
      step('b', async () => ({ kind: 'continue', headers: { 'x-b': '2', 'x-both': 'b' } })),
    );
    const p = pipeline(c, step('after', () => CONTINUE));
    const admission = p.admit(r);
    assert.ok(admission instanceof Promise);
    assert.deepEqual(r.log, ['admit a', 'admit b'], 'b started while a is still pending');
    g.open();
    const a = await admission;
    assert.deepEqual(a.headers, { 'x-a': '1', 'x-b': '2', 'x-both': 'b' });
    await p.settle(r, a, { tokens: 5 });
    await p.settle(r, a, { tokens: 5 });
    await c.settle!(r, { tokens: 5 });
    assert.deepEqual(r.log, ['admit a', 'admit b', 'admit after', 'settle a 5', 'settle b 5', 'settle after 5']);
  });

  it('stays synchronous when every member answers synchronously', () => {
    const r: Req = { log: [] };
    const p = pipeline(both(step('a', () => CONTINUE), step('b', () => ({ kind: 'continue', headers: { 'x-b': '1' } }))));
    const admission = p.admit(r);
    assert.ok(!(admission instanceof Promise));
    assert.deepEqual(admission.headers, { 'x-b': '1' });
    p.release(r, admission);
    assert.deepEqual(r.log, ['admit a', 'admit b', 'release a', 'release b']);
  });

  it('a refusal releases the members that admitted, after their admit settled, and nothing else', async () => {
    const r: Req = { log: [] };
    const g = gate();
    const p = pipeline(step('before', () => CONTINUE), both(step('a', async () => refuse()), step('b', () => g.wait(() => CONTINUE))));
    const admission = p.admit(r);
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(r.log, ['admit before', 'admit a', 'admit b'], 'a refused, b not released while its admit is pending');
    g.open();
    await assert.rejects(async () => admission, RateLimitError);
    assert.deepEqual(r.log, ['admit before', 'admit a', 'admit b', 'release b', 'release before']);
  });

  it('when several refuse, the first refusal in member order is thrown, whichever came first', async () => {
    const g = gate();
    const budget = (): never => {
      throw new Error('budget exceeded');
    };
    const r: Req = { log: [] };
    // a refuses last in time, b first: a's refusal is the one thrown.
    const p = pipeline(both(step('a', () => g.wait(refuse)), step('b', async () => budget())));
    const admission = p.admit(r);
    await new Promise((res) => setImmediate(res));
    g.open();
    await assert.rejects(async () => admission, RateLimitError);
    assert.deepEqual(r.log, ['admit a', 'admit b']);
  });

  it('a member that throws synchronously stops the later members from starting; earlier admitted ones are released', async () => {
    const r: Req = { log: [] };
    const p = pipeline(both(step('a', async () => CONTINUE, { asyncRelease: true }), step('b', refuse), step('c', () => CONTINUE)));
    await assert.rejects(async () => p.admit(r), RateLimitError);
    assert.deepEqual(r.log, ['admit a', 'admit b', 'release a']);
  });

  it("a member's release or settle fault is reported with its id and the other members still run", async () => {
    faults.length = 0;
    const r: Req = { log: [] };
    const broken: PolicyStep<Req, Settlement> = {
      id: 'broken',
      admit: () => CONTINUE,
      settle: async () => {
        throw new Error('settle failed');
      },
    };
    const p = pipeline(both(broken, step('b', () => CONTINUE)));
    const admission = p.admit(r) as Exclude<ReturnType<typeof p.admit>, Promise<unknown>>;
    await p.settle(r, admission, { tokens: 2 });
    assert.deepEqual(r.log, ['admit b', 'settle b 2']);
    assert.deepEqual(faults, ['broken settle settle failed']);
  });
});

describe('exchangeRateLimitView, admitted alongside the budget step', () => {
  it('estimates the token reservation on the model asked for, also when the budget step degrades ex.model after the view was read', () => {
    const ex = new Exchange({ rateLimits: {} } as unknown as RuntimeConfig, undefined);
    ex.caller = { name: 'k', team: 't', scope: [] } as unknown as Caller;
    ex.request = chatRequestSchema.parse({ model: 'asked', messages: [{ role: 'user', content: 'How long does shipping to Lyon take?' }] });
    ex.model = { name: 'asked', defaultMaxTokens: 1000 } as RuntimeModel;
    const view = exchangeRateLimitView(ex)!;
    ex.model = { name: 'degraded', defaultMaxTokens: 10 } as RuntimeModel;
    assert.equal(view.tokenEstimate(), requestTokenEstimate(ex.request, 1000));
    assert.equal(view.model, 'asked');
  });
});
