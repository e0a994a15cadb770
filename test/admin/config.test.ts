import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfigFile } from '../../src/config/loader.ts';
import { sha256Hex } from '../../src/policy/keys.ts';
import { scratchDir, smallConfig } from '../support/unit/config.ts';

const scratch = scratchDir();
after(() => scratch.cleanup());
const ENV = { P1_KEY: 'p1-secret', ADMIN_KEY: 'admin-key-of-at-least-16' };

function load(admin: string, env: NodeJS.ProcessEnv = ENV) {
  const file = scratch.write('gateway.yaml', smallConfig({ server: `server:\n  admin: ${admin}\n` }));
  return loadConfigFile(file, env, 1);
}

function refusal(admin: string): string {
  try {
    load(admin);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`server.admin ${admin} was accepted`);
}

test('absent server.admin: no admin-created keys, no listener', () => {
  const file = scratch.write('plain.yaml', smallConfig());
  assert.equal(loadConfigFile(file, ENV, 1).admin, undefined);
});

test('loopback listeners are accepted; the admin key is hashed at load and never kept', () => {
  for (const listen of ['127.0.0.1:9465', '127.0.0.2:1', '"[::1]:9465"', 'localhost:9465']) {
    const admin = load(`{ listen: ${listen}, fromEnv: ADMIN_KEY }`).admin;
    assert.equal(admin?.keySha256, sha256Hex(ENV.ADMIN_KEY), listen);
    assert.ok(!JSON.stringify(admin).includes(ENV.ADMIN_KEY));
  }
  assert.equal(load(`{ sha256: ${'b'.repeat(64)} }`).admin?.listen, '127.0.0.1:9465', 'the default listener is loopback');
});

test('a non-loopback listener is refused at load with a precise message, unless allowRemote', () => {
  for (const listen of ['0.0.0.0:9465', '10.1.2.3:9465', '"[::]:9465"', 'admin.internal:9465']) {
    const msg = refusal(`{ listen: ${listen}, fromEnv: ADMIN_KEY }`);
    assert.match(msg, /server\.admin\.listen/, msg);
    assert.match(msg, /is not a loopback address/);
    assert.match(msg, /allowRemote: true/);
  }
  assert.equal(load('{ listen: 0.0.0.0:9465, fromEnv: ADMIN_KEY, allowRemote: true }').admin?.listen, '0.0.0.0:9465');
});

test('a listener needs exactly one admin key; listen "" needs none', () => {
  assert.match(refusal('{ listen: 127.0.0.1:9465 }'), /server\.admin\.sha256.*needs an admin key/);
  assert.match(refusal(`{ sha256: ${'c'.repeat(64)}, fromEnv: ADMIN_KEY }`), /exactly one of sha256 or fromEnv/);
  assert.match(refusal('{ fromEnv: ADMIN_KEY, port: 1 }'), /unknown key\(s\) "port"/);
  assert.match(refusal('{ listen: "nonsense", fromEnv: ADMIN_KEY }'), /not host:port/);
  assert.deepEqual(load('{ listen: "" }').admin, { listen: '' });
});

test('fromEnv unset turns the listener off (with the reason) instead of failing the config', () => {
  const admin = load('{ fromEnv: NOT_SET_ANYWHERE }').admin;
  assert.equal(admin?.listen, '');
  assert.equal(admin?.keySha256, undefined);
  assert.match(admin?.offReason ?? '', /NOT_SET_ANYWHERE is not set/);
  assert.throws(() => load('{ fromEnv: SHORT }', { ...ENV, SHORT: 'short' }), /shorter than 16 characters/);
});
