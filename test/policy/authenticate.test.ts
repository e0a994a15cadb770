import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthError } from '../../src/errors/gateway-error.ts';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { authenticate, KeyRefusedError } from '../../src/policy/authenticate.ts';
import { EXPIRES_AT, loadScoped, SECRETS } from './fixture.ts';

const config = loadScoped();
const NOW = Date.parse('2026-05-01T12:00:00Z');
const bearer = (secret: string) => `Bearer ${secret}`;

/** The error a refused header gets, as the caller would see it. */
function refusal(header: string | undefined, now = NOW): { status: number; body: unknown; err: AuthError } {
  try {
    authenticate(config.keys, header, now);
  } catch (err) {
    assert.ok(err instanceof AuthError, String(err));
    const o = toOpenAIError(err);
    return { status: o.status, body: o.body, err };
  }
  assert.fail('the key was accepted');
}

describe('authenticate', () => {
  test('a configured key is its caller: name, team, feature', () => {
    const key = authenticate(config.keys, bearer(SECRETS.supportNew), NOW);
    assert.deepEqual([key.name, key.team, key.feature], ['support', 'support', 'support-bot']);
    assert.equal(authenticate(config.keys, bearer(SECRETS.full), NOW).feature, undefined);
  });

  test('rotation: either hash of a key is the same caller', () => {
    const a = authenticate(config.keys, bearer(SECRETS.supportOld), NOW);
    const b = authenticate(config.keys, bearer(SECRETS.supportNew), NOW);
    assert.equal(a, b);
  });

  test('the Bearer scheme is case-insensitive; the key is not', () => {
    assert.equal(authenticate(config.keys, `bearer ${SECRETS.full}`, NOW).name, 'full');
    assert.equal(refusal(bearer(SECRETS.full.toUpperCase())).err.code, 'invalid_api_key');
  });

  test('disabled and expired keys get exactly what an unknown key gets', () => {
    const unknown = refusal(bearer('sk-test-nobody'));
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    const disabled = refusal(bearer(SECRETS.off));
    assert.deepEqual([disabled.status, disabled.body], [unknown.status, unknown.body]);
    assert.ok(disabled.err instanceof KeyRefusedError && disabled.err.reason === 'disabled' && disabled.err.key.name === 'off');
    const expired = refusal(bearer(SECRETS.expiring), Date.parse(EXPIRES_AT) + 1);
    assert.deepEqual([expired.status, expired.body], [unknown.status, unknown.body]);
    assert.ok(expired.err instanceof KeyRefusedError && expired.err.reason === 'expired');
  });

  test('expiry is checked at request time, and the key is expired from its exact second on', () => {
    const at = Date.parse(EXPIRES_AT);
    assert.equal(authenticate(config.keys, bearer(SECRETS.expiring), at - 1).name, 'expiring', 'a millisecond before');
    assert.equal(refusal(bearer(SECRETS.expiring), at).err.code, 'invalid_api_key', 'at the exact second');
    // The same loaded config: no reload is needed for a key to expire.
    assert.equal(refusal(bearer(SECRETS.expiring), at + 86_400_000).err.code, 'invalid_api_key');
  });

  test('no key, or not Bearer: 401 missing_api_key', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', `Basic ${SECRETS.full}`, `Bearer ${SECRETS.full} extra`]) {
      const r = refusal(h);
      assert.equal(r.status, 401, String(h));
      assert.equal(r.err.code, 'missing_api_key', String(h));
    }
  });

  test('the key is never echoed in the error', () => {
    const r = refusal(bearer('sk-test-wrong-key-echo'));
    assert.doesNotMatch(JSON.stringify(r.body), /sk-test-wrong-key-echo|echo/);
  });
});
