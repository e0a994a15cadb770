import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256Hex } from '../../src/policy/keys.ts';
import { StateKeyDirectory } from '../../src/policy/state-keys.ts';
import { encodeStoredKey, GATEWAY_KEY_NAMESPACE, storedKeyId } from '../../src/policy/stored-key.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';

function storeWithKey(secret: string): { store: EmbeddedStateStore; hash: string; reads: () => number } {
  const store = new EmbeddedStateStore({ sqlitePath: ':memory:' });
  const hash = sha256Hex(secret);
  void store.putRecord(
    GATEWAY_KEY_NAMESPACE,
    hash,
    encodeStoredKey({ id: storedKeyId(hash), name: 'k', team: 't', models: ['m1'], disabled: false, createdAt: '2026-11-30T00:00:00.000Z', hint: secret.slice(-4) }),
  );
  let n = 0;
  const get = store.getRecord.bind(store);
  store.getRecord = (ns, id) => {
    n++;
    return get(ns, id);
  };
  return { store, hash, reads: () => n };
}

test('concurrent lookups of one hash share one backend read; later ones are synchronous until the bound', async () => {
  let now = 0;
  const { store, hash, reads } = storeWithKey('sk-llmx-one');
  const dir = new StateKeyDirectory(store, { now: () => now, ttlMs: 1000 });
  const [a, b, c] = [dir.find(hash), dir.find(hash), dir.find(hash)];
  assert.ok(a instanceof Promise);
  assert.equal(a, b);
  assert.equal(a, c);
  assert.equal((await a)?.name, 'k');
  assert.equal(reads(), 1);
  assert.equal((dir.find(hash) as { name: string }).name, 'k', 'cached: no promise');
  now = 1000;
  assert.ok(dir.find(hash) instanceof Promise, 'past the bound: read again');
  assert.equal(reads(), 2);
  await store.close();
});

test('unknown hashes are cached too (negative), within a bounded number of entries', async () => {
  const { store, reads } = storeWithKey('sk-llmx-two');
  const dir = new StateKeyDirectory(store, { maxEntries: 3 });
  for (const h of ['a', 'b', 'c', 'd']) assert.equal(await dir.find(h.repeat(64)), undefined);
  assert.equal(dir.find('d'.repeat(64)), undefined, 'a cached miss is synchronous');
  assert.ok(dir.find('a'.repeat(64)) instanceof Promise, 'the oldest entry was evicted');
  assert.equal(reads(), 5);
  await store.close();
});

test('an unreadable record grants nothing and is reported', async () => {
  const store = new EmbeddedStateStore({ sqlitePath: ':memory:' });
  const hash = sha256Hex('sk-llmx-corrupt');
  await store.putRecord(GATEWAY_KEY_NAMESPACE, hash, '{"v":2,"name":"future"}');
  const faults: unknown[] = [];
  const dir = new StateKeyDirectory(store, { onFault: (e) => faults.push(e) });
  assert.equal(await dir.find(hash), undefined);
  assert.equal(faults.length, 1);
  assert.doesNotMatch(String(faults[0]), new RegExp(hash), 'the full hash is not logged');
  await store.close();
});
