import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Conversation } from '../../../src/simulator/model/conversation.ts';
import { respond, respondAll } from '../../../src/simulator/model/responder.ts';
import { schemaInText } from '../../../src/simulator/model/structured.ts';
import { baseConversation } from '../helpers/conversation.ts';
import { assertFits, BOOKING_SCHEMA, WEATHER_SCHEMA } from '../helpers/schema.ts';

const base: Conversation = baseConversation('Plan a trip');

describe('schemaInText', () => {
  it('finds the first JSON Schema in prose, skipping braces that are not one', () => {
    const text = `Use {curly} words and {"a": 1}. JSON schema:\n${JSON.stringify(WEATHER_SCHEMA)}\nAnswer with it. {"type":"string"}`;
    assert.deepEqual(schemaInText(text), WEATHER_SCHEMA);
    assert.deepEqual(schemaInText('{"properties": {"x": {"type": "string", "description": "a } in a string"}}}'), {
      properties: { x: { type: 'string', description: 'a } in a string' } },
    });
    assert.equal(schemaInText('no schema here {"a": 1} {unclosed'), undefined);
  });
});

describe('structured answers', () => {
  it('json_schema: the text is JSON fitting the schema, split in at most `chunks` pieces', () => {
    const a = respond({ ...base, output: { kind: 'json_schema', schema: BOOKING_SCHEMA } }, 5);
    assertFits(BOOKING_SCHEMA, JSON.parse(a.text));
    assert.equal(a.pieces.join(''), a.text);
    assert.equal(a.pieces.length, 5);
    assert.equal(a.outputTokens, Math.ceil(a.text.length / 4));
  });

  it('json_object: fits a schema in the instructions, else wraps the text answer', () => {
    const shaped = respond({ ...base, output: { kind: 'json_object' }, instructions: `Reply as ${JSON.stringify(WEATHER_SCHEMA)}` }, 8);
    assertFits(WEATHER_SCHEMA, JSON.parse(shaped.text));
    const wrapped = JSON.parse(respond({ ...base, output: { kind: 'json_object' } }, 8).text);
    assert.match(wrapped.answer, /Plan a trip/);
  });

  it('max tokens still cut a JSON answer (finish length), as providers do', () => {
    const a = respond({ ...base, output: { kind: 'json_schema', schema: BOOKING_SCHEMA }, maxTokens: 2 }, 8);
    assert.equal(a.finish, 'length');
    assert.equal(a.text.length, 8);
  });

  it('a prefill is continued, not repeated; "{" asks for a JSON object', () => {
    const a = respond({ ...base, prefill: '{' }, 8);
    assert.match(JSON.parse(`{${a.text}`).answer, /Plan a trip/);
    const b = respond({ ...base, prefill: 'You said' }, 8);
    assert.ok(b.text.startsWith(': "Plan a trip"'), b.text);
  });

  it('respondAll gives `choices` answers, the alternatives differing from the first', () => {
    assert.equal(respondAll(base, 8).length, 1);
    const three = respondAll({ ...base, choices: 3 }, 8);
    assert.equal(three.length, 3);
    assert.deepEqual(three[0], respond(base, 8));
    assert.equal(new Set(three.map((a) => a.text)).size, 3);
  });
});
