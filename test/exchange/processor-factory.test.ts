import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { ConfigStore } from '../../src/config/store.ts';
import { CLUSTER_METADATA_KEY, FILTER_METADATA_KEY, createProcessorFactory } from '../../src/exchange/processor-factory.ts';
import { ExchangeRegistry } from '../../src/exchange/registry.ts';
import { RouterProcessor } from '../../src/exchange/router-processor.ts';
import { UpstreamProcessor } from '../../src/exchange/upstream-processor.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../support/unit/config.ts';
import { memorySinks } from '../support/unit/sinks.ts';

const registry = new ExchangeRegistry(4, 60_000);
after(() => registry.close());
const factory = createProcessorFactory(new ConfigStore(DEMO_CONFIG, DEMO_ENV), registry, memorySinks().sinks);

function md(entries: Record<string, string>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
}

test('router position, or no position, gets a RouterProcessor', () => {
  assert.ok(factory(md({ [FILTER_METADATA_KEY]: 'router' })) instanceof RouterProcessor);
  assert.ok(factory(md({})) instanceof RouterProcessor);
});

test('upstream position with a cluster gets an UpstreamProcessor', () => {
  assert.ok(factory(md({ [FILTER_METADATA_KEY]: 'upstream', [CLUSTER_METADATA_KEY]: 'gemini' })) instanceof UpstreamProcessor);
});

test('upstream without a cluster, or an unknown position, is refused', () => {
  assert.throws(() => factory(md({ [FILTER_METADATA_KEY]: 'upstream' })), /x-llmx-cluster/);
  assert.throws(() => factory(md({ [FILTER_METADATA_KEY]: 'upstream', [CLUSTER_METADATA_KEY]: '' })), /x-llmx-cluster/);
  assert.throws(() => factory(md({ [FILTER_METADATA_KEY]: 'sideways' })), /unknown x-llmx-filter "sideways"/);
});
