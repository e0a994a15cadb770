import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyBytes, readHeaders } from '../../src/extproc/types.ts';

test('readHeaders: lower-cases names, prefers raw_value, falls back to value, reads bytes as latin1', () => {
  const h = readHeaders({
    headers: {
      headers: [
        { key: 'Content-Type', raw_value: Buffer.from('application/json') },
        { key: 'x-old', value: 'v' },
        { key: 'x-both', value: 'ignored', raw_value: Buffer.from('raw') },
        { key: 'x-empty-raw', value: 'fallback', raw_value: new Uint8Array(0) },
        { key: 'x-latin1', raw_value: Buffer.from([0xe9]) },
      ],
    },
  });
  assert.deepEqual([...h.entries()], [
    ['content-type', 'application/json'],
    ['x-old', 'v'],
    ['x-both', 'raw'],
    ['x-empty-raw', 'fallback'],
    ['x-latin1', 'é'],
  ]);
});

test('readHeaders: a raw_value that is a view into a larger buffer is read from its own bytes', () => {
  const backing = Buffer.from('XXvalueYY');
  const h = readHeaders({ headers: { headers: [{ key: 'k', raw_value: backing.subarray(2, 7) }] } });
  assert.equal(h.get('k'), 'value');
});

test('readHeaders: absent parts give an empty map', () => {
  assert.equal(readHeaders(undefined).size, 0);
  assert.equal(readHeaders({}).size, 0);
  assert.equal(readHeaders({ headers: {} }).size, 0);
});

test('bodyBytes: bytes kept, absent/empty/non-bytes become an empty array', () => {
  const b = new Uint8Array([1]);
  assert.equal(bodyBytes(b), b);
  assert.equal(bodyBytes(undefined).length, 0);
  assert.equal(bodyBytes(new Uint8Array(0)).length, 0);
  assert.equal(bodyBytes([] as unknown as Uint8Array).length, 0);
});
