import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveTracing } from '../../src/tracing/config.ts';
import { configuredOtlpEndpoint, envoyOtlpTarget, parseOtlpEndpoint } from '../../src/tracing/envoy-target.ts';
import { gatewayConfigSchema } from '../../src/config/schema.ts';

test('off unless an endpoint is configured somewhere', () => {
  assert.equal(resolveTracing(undefined, {}), undefined);
  assert.equal(resolveTracing({ sampleRatio: 0.5 }, {}), undefined);
  assert.equal(envoyOtlpTarget(undefined, {}), undefined);
});

test('gateway.yaml wins over the OTEL_* variables, which fill what it leaves out', () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4317', OTEL_SERVICE_NAME: 'from-env', OTEL_TRACES_SAMPLER_ARG: '0.25' };
  assert.deepEqual(resolveTracing({ otlpEndpoint: 'collector:4317', serviceName: 'gw' }, env), { url: 'http://collector:4317', sampleRatio: 0.25, serviceName: 'gw' });
  assert.deepEqual(resolveTracing(undefined, env), { url: 'http://env:4317', sampleRatio: 0.25, serviceName: 'from-env' });
  // The traces-specific variable before the general one, as the OTel spec orders them.
  assert.equal(resolveTracing(undefined, { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t:443' })?.url, 'https://t:443');
  assert.deepEqual(resolveTracing(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'h:1' }), { url: 'http://h:1', sampleRatio: 1, serviceName: 'llm-extproc' });
});

test('OTEL_SDK_DISABLED=true switches both sides off; a bad ratio is an error that names it', () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4317', OTEL_SDK_DISABLED: 'TRUE' };
  assert.equal(resolveTracing({ otlpEndpoint: 'x:1' }, env), undefined);
  assert.equal(envoyOtlpTarget('x:1', env), undefined);
  assert.throws(() => resolveTracing(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'h:1', OTEL_TRACES_SAMPLER_ARG: '2' }), /OTEL_TRACES_SAMPLER_ARG "2"/);
});

test('Envoy\'s collector address from host:port or a URL (4317 by default)', () => {
  assert.deepEqual(parseOtlpEndpoint('127.0.0.1:4999'), { host: '127.0.0.1', port: 4999 });
  assert.deepEqual(parseOtlpEndpoint('http://otel-collector'), { host: 'otel-collector', port: 4317 });
  assert.deepEqual(parseOtlpEndpoint('http://[::1]:4317/'), { host: '::1', port: 4317 });
  assert.deepEqual(envoyOtlpTarget(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }), { host: 'c', port: 4317 });
  assert.throws(() => parseOtlpEndpoint('http://'), /OTLP endpoint "http:\/\/"/);
});

test('gateway.yaml observability.tracing: known keys only, ratio within 0–1', () => {
  const base = { providers: {}, models: {}, keys: [{ name: 'k', fromEnv: 'K' }] };
  const parsed = gatewayConfigSchema.safeParse({ ...base, observability: { tracing: { otlpEndpoint: 'http://c:4317', sampleRatio: 0.1 } } });
  assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
  assert.equal(parsed.data.observability.tracing?.sampleRatio, 0.1);
  assert.equal(gatewayConfigSchema.safeParse({ ...base, observability: { tracing: { sampleRatio: 1.5 } } }).success, false);
  assert.equal(gatewayConfigSchema.safeParse({ ...base, observability: { tracing: { endpoint: 'x' } } }).success, false);
});

test('npm start reads Envoy\'s collector from gateway.yaml too (observability.tracing.otlpEndpoint)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-otlp-'));
  try {
    const file = (name: string, text: string): string => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const on = file('on.yaml', 'observability:\n  tracing: { otlpEndpoint: http://collector:4317 }\n');
    assert.equal(configuredOtlpEndpoint(on), 'http://collector:4317');
    assert.deepEqual(envoyOtlpTarget(configuredOtlpEndpoint(on), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:9' }), { host: 'collector', port: 4317 });
    assert.equal(configuredOtlpEndpoint(file('off.yaml', 'observability: {}\n')), undefined);
    // A file the ext_proc will refuse with its own message: no endpoint from here, no throw.
    assert.equal(configuredOtlpEndpoint(file('bad.yaml', 'observability: [\n')), undefined);
    assert.equal(configuredOtlpEndpoint(path.join(dir, 'missing.yaml')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('otlpEndpoint is checked at load with the same parse Envoy\'s side uses; OTEL_* endpoints at start, naming the variable', () => {
  const base = { providers: {}, models: {}, keys: [{ name: 'k', fromEnv: 'K' }] };
  const problem = (otlpEndpoint: string): string | undefined => {
    const r = gatewayConfigSchema.safeParse({ ...base, observability: { tracing: { otlpEndpoint } } });
    return r.success ? undefined : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  assert.equal(problem('not-a-url'), 'observability.tracing.otlpEndpoint: OTLP endpoint "not-a-url" is neither host:port nor an http:// or https:// URL');
  assert.match(problem('grpc://c:4317') ?? '', /scheme must be http:\/\/ \(plaintext\) or https:\/\/ \(TLS\), not grpc:\/\//);
  assert.match(problem('c:99999') ?? '', /OTLP endpoint "c:99999"/);
  for (const ok of ['collector:4317', 'http://collector', 'https://otel.example:443/', '[::1]:4317']) assert.equal(problem(ok), undefined, ok);
  assert.throws(() => resolveTracing(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' }), /^Error: OTEL_EXPORTER_OTLP_ENDPOINT: OTLP endpoint "collector" is neither/);
});

test('an otlpEndpoint the ext_proc will refuse renders no tracer (the ext_proc names the field, not the stack start)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-otlp-'));
  try {
    const f = path.join(dir, 'bad-endpoint.yaml');
    writeFileSync(f, 'observability:\n  tracing: { otlpEndpoint: not-a-url }\n');
    assert.equal(configuredOtlpEndpoint(f), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
