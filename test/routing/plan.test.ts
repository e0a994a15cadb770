import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_ATTEMPT_SLOTS, attemptSlotHeader, buildRoutingPlan, usedSlotHeaders } from '../../src/routing/plan.ts';

const target = (cluster: string) => ({ provider: { cluster } });

test('plan headers: one slot per target, retries = targets - 1, attempt count starts at 0', () => {
  const plan = buildRoutingPlan([target('a'), target('b'), target('a')]);
  assert.deepEqual(plan.headers, {
    'x-envoy-max-retries': '2',
    'x-envoy-attempt-count': '0',
    'x-llmx-try-1': 'a',
    'x-llmx-try-2': 'b',
    'x-llmx-try-3': 'a',
  });
  assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.headers));
});

test('a single target: no retries', () => {
  assert.deepEqual(buildRoutingPlan([target('only')]).headers, { 'x-envoy-max-retries': '0', 'x-envoy-attempt-count': '0', 'x-llmx-try-1': 'only' });
});

test('slot header names and the used slots per attempt', () => {
  assert.equal(MAX_ATTEMPT_SLOTS, 4);
  assert.equal(attemptSlotHeader(3), 'x-llmx-try-3');
  assert.deepEqual(usedSlotHeaders(0), []);
  assert.deepEqual(usedSlotHeaders(1), ['x-llmx-try-1']);
  assert.deepEqual(usedSlotHeaders(3), ['x-llmx-try-1', 'x-llmx-try-2', 'x-llmx-try-3']);
  assert.deepEqual(usedSlotHeaders(9), ['x-llmx-try-1', 'x-llmx-try-2', 'x-llmx-try-3', 'x-llmx-try-4']);
});
