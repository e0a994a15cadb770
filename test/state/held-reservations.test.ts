import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeldReservations } from '../../src/state/embedded/held-reservations.ts';

describe('embedded HeldReservations (running total + expiry heap)', () => {
  it('expires in expiresAt order whatever the insertion order, keeping the total exact', () => {
    const h = new HeldReservations();
    // Deterministic shuffle of expiries 1..1000, amount = expiry.
    const order = Array.from({ length: 1000 }, (_, i) => ((i * 617) % 1000) + 1);
    for (const e of order) h.set(`r${e}`, e, e);
    assert.equal(h.total, (1000 * 1001) / 2);
    h.expire(500);
    assert.equal(h.size, 500);
    assert.equal(h.total, (1000 * 1001) / 2 - (500 * 501) / 2);
    assert.equal(h.has('r500'), false);
    assert.equal(h.has('r501'), true);
  });

  it('a replaced or deleted reservation is not subtracted again when its old expiry comes', () => {
    const h = new HeldReservations();
    h.set('a', 10, 100);
    h.set('b', 20, 100);
    h.set('a', 7, Infinity); // a settlement being committed: held at its actual amount
    assert.equal(h.delete('b'), true);
    assert.equal(h.delete('b'), false);
    h.expire(1_000);
    assert.deepEqual([h.size, h.total, h.has('a')], [1, 7, true]);
    assert.equal(h.delete('a'), true);
    assert.equal(h.total, 0);
  });

  it('stays exact across heap rebuilds (many deletions, then expiry)', () => {
    const h = new HeldReservations();
    for (let i = 0; i < 5000; i++) h.set(`r${i}`, 3, 1_000 + i);
    for (let i = 0; i < 5000; i += 4) h.delete(`r${i}`);
    for (let i = 1; i < 5000; i += 4) h.delete(`r${i}`);
    for (let i = 2; i < 5000; i += 4) h.delete(`r${i}`);
    assert.deepEqual([h.size, h.total], [1250, 3750]);
    h.expire(1_000 + 2_999);
    // Left: i ≡ 3 (mod 4) with 1000 + i > 3999, i.e. i ≥ 3000: 500 of them.
    assert.deepEqual([h.size, h.total], [500, 1500]);
    h.expire(Number.MAX_SAFE_INTEGER);
    assert.deepEqual([h.size, h.total], [0, 0]);
  });
});
