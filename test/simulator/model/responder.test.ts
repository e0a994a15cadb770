import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Conversation } from '../../../src/simulator/model/conversation.ts';
import { respond } from '../../../src/simulator/model/responder.ts';
import { splitEven, splitWords, truncatePieces } from '../../../src/simulator/model/text.ts';
import { baseConversation } from '../helpers/conversation.ts';
import { WEATHER_SCHEMA } from '../helpers/schema.ts';

const base: Conversation = baseConversation('What is the weather in Paris?');

describe('respond', () => {
  it('answers text quoting the user, in exactly `chunks` pieces, deterministically', () => {
    const a = respond(base, 5);
    assert.equal(a.pieces.length, 5);
    assert.equal(a.pieces.join(''), a.text);
    assert.match(a.text, /What is the weather in Paris\?/);
    assert.equal(a.finish, 'end');
    assert.equal(a.outputTokens, Math.ceil(a.text.length / 4));
    assert.deepEqual(respond(base, 5), a);
    assert.equal(respond(base, 200).pieces.length, 200);
  });

  it('calls a tool only when required, or when auto and the user names it', () => {
    const tools = [{ name: 'get_weather', schema: WEATHER_SCHEMA }, { name: 'get_time', schema: { type: 'object' } }];
    assert.equal(respond({ ...base, tools }, 8).toolCall, undefined);
    assert.equal(respond({ ...base, tools, toolMode: { kind: 'required', allowed: undefined } }, 8).toolCall?.name, 'get_weather');
    assert.equal(respond({ ...base, tools, toolMode: { kind: 'required', allowed: ['get_time'] } }, 8).toolCall?.name, 'get_time');
    assert.equal(respond({ ...base, tools, lastUserText: 'please use get_time' }, 8).toolCall?.name, 'get_time');
    assert.equal(respond({ ...base, tools, toolMode: { kind: 'none' }, lastUserText: 'get_time' }, 8).toolCall, undefined);
  });

  it('answers a tool result with text that mentions it, even when a call is required', () => {
    const a = respond({ ...base, tools: [{ name: 'get_weather', schema: WEATHER_SCHEMA }], toolMode: { kind: 'required', allowed: undefined }, toolResults: [{ name: 'get_weather', content: '{"temperature":18}' }] }, 8);
    assert.equal(a.toolCall, undefined);
    assert.match(a.text, /get_weather tool returned \{"temperature":18\}/);
  });

  it('truncates at max tokens and at the first stop sequence', () => {
    const long = respond({ ...base, maxTokens: 3 }, 8);
    assert.equal(long.finish, 'length');
    assert.ok(long.text.length <= 12);
    assert.equal(long.outputTokens, 3);
    const stopped = respond({ ...base, stop: ['Paris', 'weather'] }, 8);
    assert.equal(stopped.finish, 'stop_sequence');
    assert.equal(stopped.stopSequence, 'weather');
    assert.equal(stopped.text, 'You said: "What is the ');
  });
});

describe('text helpers', () => {
  it('splitWords gives exactly n pieces that concatenate back', () => {
    for (const n of [1, 2, 7, 30]) {
      const p = splitWords('a b c d e f g h', n);
      assert.equal(p.length, n);
      assert.ok(p.join('').startsWith('a b c d e f g h'));
    }
  });

  it('never splits a surrogate pair', () => {
    const s = '😀😀😀😀x';
    for (const piece of splitEven(s, 9)) assert.ok(!/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(piece), piece);
    assert.equal(splitEven(s, 9).join(''), s);
    assert.deepEqual(truncatePieces(['😀', '😀'], 3), ['😀']);
  });
});
