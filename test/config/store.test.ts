import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import type { RuntimeConfig } from '../../src/config/runtime.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { scratchDir, smallConfig } from '../support/unit/config.ts';

const scratch = scratchDir();
after(() => scratch.cleanup());
const ENV: NodeJS.ProcessEnv = { P1_KEY: 'k' };

function recorder() {
  const applied: RuntimeConfig[] = [];
  const rejected: unknown[] = [];
  return { applied, rejected, events: { onReload: (c: RuntimeConfig) => void applied.push(c), onRejected: (e: unknown) => void rejected.push(e) } };
}

test('the constructor loads the file (version 1) and throws on an invalid one', () => {
  const store = new ConfigStore(scratch.write('a.yaml', smallConfig()), ENV);
  assert.equal(store.current.version, 1);
  assert.deepEqual([...store.current.models.keys()], ['m1']);
  assert.throws(() => new ConfigStore(scratch.write('b.yaml', 'x: ['), ENV), ConfigError);
});

test('reload keeps the old config on an invalid file and applies a valid one', () => {
  const file = scratch.write('gateway.yaml', smallConfig());
  const store = new ConfigStore(file, ENV);
  const first = store.current;
  const r = recorder();

  scratch.write('gateway.yaml', smallConfig({ models: 'models:\n  m1:\n    targets: [{ provider: ghost, model: x }]\n' }));
  assert.equal(store.reload(r.events), false);
  assert.equal(store.current, first);
  assert.equal(r.applied.length, 0);
  assert.equal(r.rejected.length, 1);
  assert.ok(r.rejected[0] instanceof ConfigError);
  assert.equal((r.rejected[0] as ConfigError).where, 'models.m1.targets[0].provider');

  scratch.write('gateway.yaml', smallConfig({ models: 'models:\n  m2:\n    targets: [{ provider: p1, model: y }]\n' }));
  assert.equal(store.reload(r.events), true);
  assert.notEqual(store.current, first);
  assert.equal(store.current.version, 2);
  assert.deepEqual([...store.current.models.keys()], ['m2']);
  assert.deepEqual(r.applied, [store.current]);
  // The snapshot a request took before the reload is unchanged.
  assert.deepEqual([...first.models.keys()], ['m1']);
  store.close();
});

test('reload without listeners, and a deleted file, keep serving the old config', () => {
  const own = scratchDir();
  const store = new ConfigStore(own.write('c.yaml', smallConfig()), ENV);
  const first = store.current;
  own.cleanup();
  assert.equal(store.reload(), false);
  assert.equal(store.current, first);
});
