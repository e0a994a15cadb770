import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureCerts } from '../../src/cli/certs.ts';
import { findOrInstallEnvoy } from '../../src/cli/envoy-binary.ts';
import { renderEnvoyConfig } from '../../src/cli/envoy-config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `envoy --mode validate`: the real binary parses and checks every field. */
function validate(file: string): string {
  return execFileSync(findOrInstallEnvoy(), ['--mode', 'validate', '-c', file, '--use-dynamic-base-id', '--log-level', 'error'], { encoding: 'utf8' });
}

test('envoy/production.yaml is valid for Envoy 1.40.0 (real providers, docker-compose)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-envoy-'));
  const certs = await ensureCerts(path.join(dir, 'certs'));
  // The image mounts certificates under /etc/envoy/certs; validate with local ones.
  const text = readFileSync(path.join(ROOT, 'envoy/production.yaml'), 'utf8')
    .replaceAll('/etc/envoy/certs/server.pem', certs.cert)
    .replaceAll('/etc/envoy/certs/server-key.pem', certs.key);
  const file = path.join(dir, 'production.yaml');
  writeFileSync(file, text);
  assert.match(validate(file), /OK/);
});

test('envoy/envoy.yaml renders with every placeholder filled and is valid', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-envoy-'));
  const certs = await ensureCerts(path.join(dir, 'certs'));
  const out = path.join(dir, 'envoy.yaml');
  const ports: Record<string, number> = { ADMIN_PORT: 19901, HTTPS_PORT: 18443, HTTP_PORT: 18080, OPENAI_PRIMARY_PORT: 19101, OPENAI_BACKUP_PORT: 19102, ANTHROPIC_PORT: 19103, GEMINI_PORT: 19104 };
  renderEnvoyConfig(path.join(ROOT, 'envoy/envoy.yaml'), out, {
    ...ports,
    LISTEN_HOST: '127.0.0.1',
    PLAIN_LISTEN_HOST: '127.0.0.1',
    EXTPROC_TARGET: '127.0.0.1:15051',
    TLS_CERT: certs.cert,
    TLS_KEY: certs.key,
    CA_CERT: certs.caCert,
  });
  assert.match(validate(out), /OK/);
  assert.throws(() => renderEnvoyConfig(path.join(ROOT, 'envoy/envoy.yaml'), out, {}), /no value for placeholder/);
});

test('every provider cluster of production.yaml is reachable from the route matcher and tags its upstream ext_proc', () => {
  const text = readFileSync(path.join(ROOT, 'envoy/production.yaml'), 'utf8');
  const clusters = [...text.matchAll(/^  - name: ([a-z0-9-]+)\n    type: LOGICAL_DNS/gm)].map((m) => m[1]!);
  assert.deepEqual(clusters.sort(), ['anthropic', 'deepseek', 'gemini', 'openai']);
  for (const c of clusters) {
    assert.ok(text.includes(`${c}: { action: { name: cluster`), `matcher maps ${c}`);
    assert.ok(text.includes(`{ key: x-llmx-cluster, value: ${c} }`), `upstream ext_proc of ${c} says which cluster it is in`);
  }
});
