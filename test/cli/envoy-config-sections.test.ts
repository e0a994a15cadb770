import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { renderEnvoyConfig } from '../../src/cli/envoy-config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function render(template: string, values: Record<string, string | number>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-render-'));
  writeFileSync(path.join(dir, 't.yaml'), template);
  renderEnvoyConfig(path.join(dir, 't.yaml'), path.join(dir, 'out.yaml'), values);
  return readFileSync(path.join(dir, 'out.yaml'), 'utf8');
}

const TEMPLATE = ['a: {{A}}', '  # {{#OPT}}', '  b: {{B}}', '  # {{/OPT}}', 'c: 1'].join('\n');

test('an optional section is dropped, with its placeholders, unless its value is set', () => {
  assert.equal(render(TEMPLATE, { A: 1 }), 'a: 1\nc: 1');
  assert.equal(render(TEMPLATE, { A: 1, OPT: '' }), 'a: 1\nc: 1');
  assert.equal(render(TEMPLATE, { A: 1, OPT: '0' }), 'a: 1\nc: 1');
  assert.equal(render(TEMPLATE, { A: 1, OPT: '1', B: 2 }), 'a: 1\n  b: 2\nc: 1');
  // Kept, its placeholders are required like any other.
  assert.throws(() => render(TEMPLATE, { A: 1, OPT: '1' }), /no value for placeholder \{\{B\}\}/);
});

test('an unclosed, stray or nested section is an error that names it', () => {
  assert.throws(() => render('# {{#X}}\na: 1', {}), /section \{\{#X\}\} is never closed/);
  assert.throws(() => render('a: 1\n# {{/X}}', {}), /\{\{\/X\}\} closes no open section/);
  assert.throws(() => render('# {{#X}}\n# {{#Y}}\n# {{/Y}}\n# {{/X}}', {}), /opened inside/);
});

test('envoy.yaml: the tracing section renders Envoy\'s OpenTelemetry tracer and its collector cluster only when on', () => {
  const template = readFileSync(path.join(ROOT, 'envoy/envoy.yaml'), 'utf8');
  const values = Object.fromEntries([...template.matchAll(/\{\{([A-Z0-9_]+)\}\}/g)].map((m) => [m[1]!, 1]));
  delete values['TRACING'];
  const off = render(template, values);
  assert.doesNotMatch(off, /tracing:|otel_collector|request_id_extension/);
  const on = render(template, { ...values, TRACING: '1', OTLP_HOST: 'c', OTLP_PORT: 4317, OTEL_ENVOY_SERVICE_NAME: 'gw', TRACE_SAMPLE_PERCENT: 100 });
  assert.match(on, /name: envoy\.tracers\.opentelemetry/);
  assert.match(on, /cluster_name: otel_collector/);
  assert.match(on, /pack_trace_reason: false/);
});
