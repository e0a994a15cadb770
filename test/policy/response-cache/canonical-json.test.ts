import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../src/policy/response-cache/canonical-json.ts';

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members at every depth by UTF-16 code units, no whitespace', () => {
    assert.equal(canonicalJson(JSON.parse('{ "b": [ {"z":1, "a":2} ], "a": null, "é": true, "Z": "x", "\u{1F600}": 0, "\uFB33": 1 }')), '{"Z":"x","a":null,"b":[{"a":2,"z":1}],"é":true,"\u{1F600}":0,"\uFB33":1}');
  });

  it('writes numbers as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    assert.equal(canonicalJson(JSON.parse('[1.0, 1e0, 10.50, -0, 0.000001, 1e21, 1E-7, 123456789012345680000]')), '[1,1,10.5,0,0.000001,1e+21,1e-7,123456789012345680000]');
  });

  it('escapes strings as JSON.stringify does', () => {
    assert.equal(canonicalJson('a"\\\n\u0001\u2028'), JSON.stringify('a"\\\n\u0001\u2028'));
  });

  it('refuses what JSON cannot hold', () => {
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
    assert.throws(() => canonicalJson(() => 1), TypeError);
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  });
});
