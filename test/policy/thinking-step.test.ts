import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { recordId, THINKING_NAMESPACE, ThinkingStore } from '../../src/dialects/anthropic/thinking-store.ts';
import type { ThinkingTurn } from '../../src/dialects/dialect.ts';
import { thinkingStep, type ThinkingEvent, type ThinkingLink, type ThinkingView } from '../../src/policy/thinking-step.ts';
import type { ChatMessage } from '../../src/openai/chat-request.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import { StateUnavailableError } from '../../src/state/errors.ts';

const TURN: ThinkingTurn = {
  toolCallIds: ['toolu_A', 'toolu_B'],
  blocks: [
    { type: 'thinking', thinking: 'Two cities: call the tool twice.', signature: 'c2lnbmVk' },
    { type: 'redacted_thinking', data: 'cmVkYWN0ZWQ=' },
  ],
};

const continuation: ChatMessage[] = [
  { role: 'user', content: 'Weather in Paris and Lyon?' },
  {
    role: 'assistant',
    content: null,
    tool_calls: TURN.toolCallIds.map((id) => ({ id, type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } })),
  },
  { role: 'tool', tool_call_id: 'toolu_A', content: '18 C' },
  { role: 'tool', tool_call_id: 'toolu_B', content: '20 C' },
];

/** A request as the step sees it in these tests; `link` is what it attached. */
interface Req {
  view: ThinkingView | undefined;
  link?: ThinkingLink;
}

describe('ThinkingStore and the thinking step', () => {
  let clock = 1_800_000_000_000;
  let state: EmbeddedStateStore;
  let store: ThinkingStore;
  let events: ThinkingEvent[];
  const step = () =>
    thinkingStep<Req, unknown>(
      { view: (r) => r.view, attach: (r, link) => (r.link = link) },
      { store, onEvent: (e) => events.push(e) },
    );
  const admit = async (r: Req): Promise<Req> => {
    const verdict = await step().admit(r);
    assert.deepEqual(verdict, { kind: 'continue' });
    return r;
  };
  /** Lets the background keep (fire and forget) finish. */
  const settled = () => new Promise((resolve) => setImmediate(resolve));

  beforeEach(() => {
    state = new EmbeddedStateStore({ sqlitePath: ':memory:', now: () => clock });
    store = new ThinkingStore(state, 60_000);
    events = [];
  });
  afterEach(async () => state.close());

  test('a turn is kept under each tool-call id, per team, and found again whole', async () => {
    assert.equal(await store.keep('team-a', TURN), 'kept');
    assert.deepEqual(await store.find('team-a', ['toolu_A', 'toolu_B']), { kind: 'found', turn: TURN });
    const raw = await state.getRecord(THINKING_NAMESPACE, recordId('team-a', 'toolu_B'));
    assert.equal(raw, JSON.stringify({ toolCallIds: TURN.toolCallIds, blocks: TURN.blocks }));
  });

  test("another team's request naming the same ids finds nothing", async () => {
    await store.keep('team-a', TURN);
    assert.deepEqual(await store.find('team-b', TURN.toolCallIds), { kind: 'missing' });
    // A team name cannot reach into another's records by containing the separator.
    await store.keep('a', { ...TURN, toolCallIds: ['b:toolu_A'] });
    assert.deepEqual(await store.find('a:b', ['toolu_A']), { kind: 'missing' });
  });

  test('expired after the TTL; partly missing or other ids count as missing', async () => {
    await store.keep('t', TURN);
    clock += 59_999;
    assert.equal((await store.find('t', TURN.toolCallIds)).kind, 'found');
    clock += 2;
    assert.deepEqual(await store.find('t', TURN.toolCallIds), { kind: 'missing' });

    await store.keep('t', TURN);
    await state.deleteRecord(THINKING_NAMESPACE, recordId('t', 'toolu_B'));
    assert.deepEqual(await store.find('t', TURN.toolCallIds), { kind: 'missing' }, 'one id gone');
    await store.keep('t', TURN);
    assert.deepEqual(await store.find('t', ['toolu_A']), { kind: 'missing' }, 'a subset of the ids');
    assert.deepEqual(await store.find('t', ['toolu_B', 'toolu_A']), { kind: 'missing' }, 'another order');
    await state.putRecord(THINKING_NAMESPACE, recordId('t', 'toolu_A'), '{"toolCallIds":["toolu_A","toolu_B"],"blocks":[{"type":"thinking"}]}', 1000);
    assert.deepEqual(await store.find('t', TURN.toolCallIds), { kind: 'missing' }, 'a record that differs');
  });

  test('a turn larger than the bound is not kept', async () => {
    const huge: ThinkingTurn = { toolCallIds: ['toolu_H'], blocks: [{ type: 'thinking', thinking: 'x'.repeat(600 * 1024), signature: 's' }] };
    assert.equal(await store.keep('t', huge), 'too_large');
    assert.equal(await state.getRecord(THINKING_NAMESPACE, recordId('t', 'toolu_H')), undefined);
  });

  test('step: a request without reasoning on an Anthropic target is left alone, synchronously', () => {
    const r: Req = { view: undefined };
    assert.deepEqual(step().admit(r), { kind: 'continue' });
    assert.equal(r.link, undefined);
  });

  test("step: a loop's first request gets a sink that keeps its answer's blocks for the team", async () => {
    const r: Req = { view: { team: 't', messages: [{ role: 'user', content: 'Weather?' }] } };
    const verdict = step().admit(r);
    assert.deepEqual(verdict, { kind: 'continue' }, 'no lookup: answered without a promise');
    assert.equal(r.link?.kept, undefined);
    r.link!.onThinking(TURN);
    await settled();
    assert.deepEqual(events, ['kept']);
    assert.deepEqual(await store.find('t', TURN.toolCallIds), { kind: 'found', turn: TURN });
  });

  test('step: the continuation finds the blocks (restored), another team or an expired turn does not (missing)', async () => {
    await store.keep('t', TURN);
    assert.deepEqual((await admit({ view: { team: 't', messages: continuation } })).link?.kept, TURN);
    assert.equal((await admit({ view: { team: 'other', messages: continuation } })).link?.kept, undefined);
    clock += 60_001;
    const expired = await admit({ view: { team: 't', messages: continuation } });
    assert.equal(expired.link?.kept, undefined);
    assert.ok(expired.link?.onThinking, 'the continuation can still keep a new turn');
    assert.deepEqual(events, ['restored', 'missing', 'missing']);
  });

  test('step: a failing backend never refuses the request; thinking is off and the fault is reported', async () => {
    const failing = new ThinkingStore({
      putRecord: () => Promise.reject(new StateUnavailableError('redis', 'putRecord', new Error('down'))),
      getRecord: () => Promise.reject(new StateUnavailableError('redis', 'getRecord', new Error('down'))),
    });
    const s = thinkingStep<Req, unknown>({ view: (r) => r.view, attach: (r, link) => (r.link = link) }, { store: failing, onEvent: (e) => events.push(e) });
    const r: Req = { view: { team: 't', messages: continuation } };
    assert.deepEqual(await s.admit(r), { kind: 'continue' });
    assert.equal(r.link?.kept, undefined);
    r.link!.onThinking(TURN);
    await settled();
    assert.deepEqual(events, ['lookup_failed', 'keep_failed']);
  });
});
