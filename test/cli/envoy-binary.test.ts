import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEnvoyVersion } from '../../src/cli/envoy-binary.ts';

test('the release is read from "version: <sha>/x.y.z/", not from a version in the binary path', () => {
  const pyenv =
    '\n/root/.pyenv/versions/3.11.7/bin/envoy  version: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL\n';
  assert.equal(parseEnvoyVersion(pyenv), '1.40.0');
  assert.equal(parseEnvoyVersion('/usr/local/bin/envoy  version: abc123/1.39.2/Modified/DEBUG/BoringSSL'), '1.39.2');
});

test('output that is not Envoy\'s gives no version', () => {
  assert.equal(parseEnvoyVersion('pyenv: envoy: command not found\n/root/.pyenv/versions/3.11.7/'), undefined);
  assert.equal(parseEnvoyVersion(''), undefined);
});
