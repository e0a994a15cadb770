import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTracing } from '../../src/tracing/config.ts';
import { envoyOtlpTarget, parseOtlpEndpoint } from '../../src/tracing/envoy-target.ts';
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
