import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SseDecoder } from '../../src/sse/sse-decoder.ts';
import { oneBytePieces, utf8 } from '../support/unit/bytes.ts';

interface Ev {
  event?: string | undefined;
  data: string;
  id?: string | undefined;
}

/** Every event from feeding `pieces` then `end()`, reduced to the fields that matter. */
function decode(pieces: ReadonlyArray<string | Uint8Array>): Ev[] {
  const d = new SseDecoder();
  const out: Ev[] = [];
  const keep = (evs: ReturnType<SseDecoder['push']>) => {
    for (const e of evs) out.push({ data: e.data, ...(e.event ? { event: e.event } : {}), ...(e.id ? { id: e.id } : {}) });
  };
  for (const p of pieces) keep(d.push(typeof p === 'string' ? utf8(p) : p));
  keep(d.end());
  return out;
}

const data = (...xs: string[]): Ev[] => xs.map((x) => ({ data: x }));

describe('SseDecoder', () => {
  test('LF, CRLF and CR line endings, alone and mixed', () => {
    assert.deepEqual(decode(['data: a\n\ndata: b\n\n']), data('a', 'b'));
    assert.deepEqual(decode(['data: a\r\n\r\ndata: b\r\n\r\n']), data('a', 'b'));
    assert.deepEqual(decode(['data: a\r\rdata: b\r\r']), data('a', 'b'));
    assert.deepEqual(decode(['data: a\r\n\ndata: b\n\r\ndata: c\r\r']), data('a', 'b', 'c'));
  });

  test('a CRLF split between pushes is one line end, not two', () => {
    assert.deepEqual(decode(['data: a\r', '\n', 'data: b\r\n\r', '\n']), [{ data: 'a\nb' }]);
    assert.deepEqual(decode(['data: a\r', '\n\r', '\n', 'data: b\r\n\r\n']), data('a', 'b'));
  });

  test('a multi-byte UTF-8 character split across pushes survives', () => {
    const bytes = utf8('data: héllo 🎉 – 日本\n\n');
    assert.deepEqual(decode(oneBytePieces(bytes)), data('héllo 🎉 – 日本'));
    const emoji = bytes.indexOf(0xf0);
    for (const cut of [emoji + 1, emoji + 2, emoji + 3]) {
      assert.deepEqual(decode([bytes.subarray(0, cut), bytes.subarray(cut)]), data('héllo 🎉 – 日本'), `cut at ${cut}`);
    }
  });

  test('several events in one push, and one event over many pushes', () => {
    const d = new SseDecoder();
    assert.deepEqual(
      d.push(utf8('data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4')).map((e) => e.data),
      ['1', '2', '3'],
    );
    assert.deepEqual(d.push(utf8('\n')), []);
    assert.deepEqual(d.push(utf8('\n')).map((e) => e.data), ['4']);
  });

  test('comments are skipped; event, id and multi-line data are kept', () => {
    assert.deepEqual(decode([': keep-alive\n\n', 'event: message_start\nid: 7\ndata: {"a":1}\n: inline comment\ndata: {"b":2}\n\n']), [
      { event: 'message_start', id: '7', data: '{"a":1}\n{"b":2}' },
    ]);
  });

  test('"data:" without a space, and an empty data line', () => {
    assert.deepEqual(decode(['data:x\n\ndata:\n\n']), data('x', ''));
  });

  test('a leading BOM is ignored', () => {
    assert.deepEqual(decode([new Uint8Array([0xef, 0xbb, 0xbf]), 'data: x\n\n']), data('x'));
  });

  test('end() flushes an unterminated final event', () => {
    for (const tail of ['data: last', 'data: last\n', 'data: last\r\n', 'data: last\r']) {
      const d = new SseDecoder();
      assert.deepEqual(d.push(utf8(`data: first\n\n${tail}`)).map((e) => e.data), ['first'], JSON.stringify(tail));
      assert.deepEqual(d.end().map((e) => e.data), ['last'], JSON.stringify(tail));
    }
  });

  test('end() flushes a character left incomplete in the decoder', () => {
    const bytes = utf8('data: é');
    const d = new SseDecoder();
    assert.deepEqual(d.push(bytes.subarray(0, bytes.length - 1)), []);
    assert.deepEqual(d.end().map((e) => e.data), ['\uFFFD']);
  });

  test('end() with nothing pending yields nothing; instances do not share state', () => {
    const a = new SseDecoder();
    const b = new SseDecoder();
    a.push(utf8('data: from-a'));
    assert.deepEqual(b.end(), []);
    assert.deepEqual(a.end().map((e) => e.data), ['from-a']);
  });

  test('output is the same however the bytes are split', () => {
    const text = 'event: a\ndata: 1\r\n\r\n: c\r\rdata: é🎉\r\rdata: x\ndata: y\n\ndata: tail';
    const bytes = utf8(text);
    const whole = decode([bytes]);
    assert.equal(whole.length, 4);
    assert.deepEqual(decode(oneBytePieces(bytes)), whole);
    for (let i = 1; i < bytes.length; i++) assert.deepEqual(decode([bytes.subarray(0, i), bytes.subarray(i)]), whole, `split at ${i}`);
  });
});
