import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { checkThinkingSignature, mintThinkingSignature } from '../../src/simulator/providers/anthropic/thinking-signature.ts';
import { post } from './helpers/client.ts';
import { WEATHER_SCHEMA } from './helpers/schema.ts';

// The simulated Anthropic's extended thinking across a tool loop: signed blocks it can verify,
// and the API's rule that a continued loop with thinking on gives back the opening turn's block.

const HEADERS = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
const tools = [{ name: 'get_weather', description: 'Get the weather.', input_schema: WEATHER_SCHEMA }];
const thinking = { type: 'enabled', budget_tokens: 1024 };
const ask = { role: 'user', content: 'Use get_weather for Paris.' };

let sim: SimProvider;
const url = (): string => `${sim.url}/v1/messages`;
before(async () => {
  sim = await startSimProvider({ format: 'anthropic', apiKey: 'sk-ant-test' });
});
after(() => sim.close());

type Block = Record<string, unknown>;

async function firstTurn(): Promise<Block[]> {
  const r = await post(url(), { model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: [ask] }, HEADERS);
  assert.equal(r.status, 200, r.text);
  const content = JSON.parse(r.text).content as Block[];
  assert.deepEqual(
    content.map((b) => b['type']),
    ['thinking', 'tool_use'],
  );
  return content;
}

function loop(turn: Block[]): object[] {
  const use = turn.find((b) => b['type'] === 'tool_use')!;
  return [ask, { role: 'assistant', content: turn }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use['id'], content: '18 C' }] }];
}

describe('anthropic simulator: signed thinking across a tool loop', () => {
  it('signs the thinking text: the signature verifies, and not over another text', () => {
    const sig = mintThinkingSignature('abc');
    assert.ok(checkThinkingSignature(sig, 'abc'));
    assert.equal(checkThinkingSignature(sig, 'abd'), false);
    assert.equal(checkThinkingSignature(`${sig.slice(0, -4)}AAA=`, 'abc'), false);
    assert.equal(checkThinkingSignature('not base64 !', 'abc'), false);
  });

  it('takes its own block back and answers without a new one (Claude thinks once per turn)', async () => {
    const turn = await firstTurn();
    assert.ok(checkThinkingSignature(String(turn[0]!['signature']), String(turn[0]!['thinking'])));
    const r = await post(url(), { model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: loop(turn) }, HEADERS);
    assert.equal(r.status, 200, r.text);
    const content = JSON.parse(r.text).content as Block[];
    assert.deepEqual(
      content.map((b) => b['type']),
      ['text'],
    );
  });

  it('refuses an altered text or signature, and a loop whose opening turn lost its block', async () => {
    const turn = await firstTurn();
    const bad = async (messages: object[]): Promise<string> => {
      const r = await post(url(), { model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages }, HEADERS);
      assert.equal(r.status, 400, r.text);
      return JSON.parse(r.text).error.message as string;
    };
    const altered = [{ ...turn[0], thinking: `${String(turn[0]!['thinking'])} ` }, turn[1]!];
    assert.match(await bad(loop(altered)), /messages\.1\.content\.0: Invalid `signature` in `thinking` block/);
    const forged = [{ ...turn[0], signature: mintThinkingSignature('something else') }, turn[1]!];
    assert.match(await bad(loop(forged)), /Invalid `signature`/);
    assert.match(await bad(loop([turn[1]!])), /messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`/);
    // Without thinking the same loop is fine (Anthropic strips or does not need the blocks).
    const r = await post(url(), { model: 'claude-sonnet-4-5', max_tokens: 4096, tools, messages: loop([turn[1]!]) }, HEADERS);
    assert.equal(r.status, 200, r.text);
  });

  it('streams the signature it can verify (signature_delta)', async () => {
    const r = await post(url(), { model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: [ask], stream: true }, HEADERS);
    let text = '';
    let signature = '';
    for (const line of r.text.split('\n')) {
      if (!line.startsWith('data: ')) continue;
      const e = JSON.parse(line.slice(6)) as { type: string; delta?: Record<string, string> };
      if (e.delta?.['type'] === 'thinking_delta') text += e.delta['thinking'];
      if (e.delta?.['type'] === 'signature_delta') signature += e.delta['signature'];
    }
    assert.ok(text.length > 0);
    assert.ok(checkThinkingSignature(signature, text));
  });
});
