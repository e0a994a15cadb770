import assert from 'node:assert/strict';
import { afterEach, test, mock } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { ExchangeRegistry } from '../../src/exchange/registry.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../support/unit/config.ts';

const config = loadConfigFile(DEMO_CONFIG, DEMO_ENV, 1);

function exchange(ageMs = 0): Exchange {
  const ex = new Exchange(config, undefined);
  // Age it without waiting: startedAt is what the sweep compares.
  (ex as { startedAt: bigint }).startedAt = process.hrtime.bigint() - BigInt(ageMs) * 1_000_000n;
  return ex;
}

afterEach(() => mock.timers.reset());

test('bounded: refuses when full, accepts again after a delete', () => {
  const r = new ExchangeRegistry(2, 60_000);
  try {
    const [a, b, c] = [exchange(), exchange(), exchange()];
    assert.equal(r.add(a), true);
    assert.equal(r.add(b), true);
    assert.equal(r.add(c), false);
    assert.equal(r.size, 2);
    assert.equal(r.get(c.id), undefined);
    r.delete(a.id);
    assert.equal(r.add(c), true);
    assert.deepEqual([r.get(a.id), r.get(b.id), r.get(c.id)], [undefined, b, c]);
  } finally {
    r.close();
  }
});

test('the sweep timer drops entries older than maxAgeMs and keeps younger ones', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  const r = new ExchangeRegistry(10, 5_000);
  try {
    const [old1, old2, young] = [exchange(9_000), exchange(6_000), exchange(10)];
    for (const ex of [old1, old2, young]) r.add(ex);
    assert.equal(r.size, 3);
    mock.timers.tick(5_000);
    assert.deepEqual([r.get(old1.id), r.get(old2.id), r.get(young.id)], [undefined, undefined, young]);
    assert.equal(r.size, 1);
  } finally {
    r.close();
  }
});

test('the sweep interval is at most a minute', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  const r = new ExchangeRegistry(10, 3_600_000);
  try {
    r.add(exchange(4_000_000));
    mock.timers.tick(60_000);
    assert.equal(r.size, 0);
  } finally {
    r.close();
  }
});

test('close empties the registry', () => {
  const r = new ExchangeRegistry(4, 60_000);
  r.add(exchange());
  r.close();
  assert.equal(r.size, 0);
});
