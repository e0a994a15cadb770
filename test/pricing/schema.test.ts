import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pricingSchema, providerPricingSchema } from '../../src/pricing/schema.ts';

function problem(input: unknown): { path: string; message: string } {
  const r = pricingSchema.safeParse(input);
  assert.equal(r.success, false, JSON.stringify(input));
  const issue = r.error!.issues[0]!;
  return { path: issue.path.join('.'), message: issue.message };
}

test('valid blocks', () => {
  for (const ok of [
    { free: true },
    { input: 0.15, output: 0.6 },
    { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, windows: [{ from: '22:00', to: '06:00', multiplier: 0.5 }] },
    { windows: [{ from: '00:00', to: '08:00', multiplier: 0.5 }] },
    { input: 1, output: 2, windows: [{ from: '08:00', to: '09:00', output: 1 }, { from: '09:00', to: '10:00', multiplier: 2 }] },
  ]) assert.equal(pricingSchema.safeParse(ok).success, true, JSON.stringify(ok));
});

test('free takes nothing else', () => {
  assert.deepEqual(problem({ free: true, input: 1, output: 1 }), { path: 'free', message: 'free: true takes no prices or windows' });
  assert.equal(pricingSchema.safeParse({ free: false }).success, false, 'free: false says nothing: leave it out');
});

test('a price needs input and output', () => {
  assert.deepEqual(problem({ input: 1 }), { path: 'output', message: 'an override price needs both input and output (USD per 1M tokens)' });
  assert.equal(problem({ cachedInput: 1 }).path, 'input');
  assert.match(problem({}).message, /expected free: true, input and output prices/);
  assert.equal(problem({ input: -1, output: 1 }).path, 'input');
});

test('windows: HH:MM in UTC, not empty, either multiplier or prices, never overlapping', () => {
  assert.match(problem({ windows: [{ from: '24:00', to: '01:00', multiplier: 1 }] }).message, /UTC time "HH:MM"/);
  assert.deepEqual(problem({ windows: [{ from: '01:00', to: '01:00', multiplier: 1 }] }).path, 'windows.0.to');
  assert.match(problem({ windows: [{ from: '01:00', to: '02:00' }] }).message, /either multiplier or prices/);
  assert.match(problem({ input: 1, output: 1, windows: [{ from: '01:00', to: '02:00', multiplier: 1, input: 2 }] }).message, /either multiplier or prices/);
  assert.deepEqual(problem({ windows: [{ from: '01:00', to: '02:00', input: 1 }] }), {
    path: 'windows.0',
    message: 'a window with prices needs input and output prices in the same pricing block; over catalogue prices use multiplier',
  });
  assert.deepEqual(problem({ windows: [{ from: '22:00', to: '02:00', multiplier: 0.5 }, { from: '01:59', to: '03:00', multiplier: 0.8 }] }), {
    path: 'windows.1',
    message: 'overlaps windows[0]; windows must not share a minute',
  });
  assert.equal(pricingSchema.safeParse({ windows: [{ from: '22:00', to: '02:00', multiplier: 0.5 }, { from: '02:00', to: '03:00', multiplier: 0.8 }] }).success, true, 'touching is not overlapping');
});

test('provider pricing: providerId or free, not both; unknown keys refused', () => {
  assert.equal(providerPricingSchema.safeParse({ providerId: 'mistral' }).success, true);
  assert.equal(providerPricingSchema.safeParse({ free: true }).success, true);
  assert.equal(providerPricingSchema.safeParse({ free: true, providerId: 'groq' }).success, false);
  assert.equal(providerPricingSchema.safeParse({ provider: 'groq' }).success, false);
});

test('an unknown key lists the keys allowed there', () => {
  assert.equal(problem({ input: 1, output: 1, cached: 0.5 }).message, 'unknown key(s) "cached" (expected: free, input, cachedInput, cacheWrite, output, windows)');
});

test('an overlap names the windows by their place in the file, after an unreadable one', () => {
  const r = pricingSchema.safeParse({ windows: [{ from: '01:00', to: '02:00', multiplier: 1 }, { from: '9:00', to: '10:00', multiplier: 1 }, { from: '01:30', to: '03:00', multiplier: 1 }] });
  assert.equal(r.success, false);
  const overlap = r.error!.issues.find((i) => /overlaps/.test(i.message))!;
  assert.deepEqual([overlap.path.join('.'), overlap.message], ['windows.2', 'overlaps windows[0]; windows must not share a minute']);
});
