import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { throttledWarn } from '../../src/observability/throttled-warn.ts';

describe('throttledWarn', () => {
  it('logs the first occurrence, then at most once per interval with the count it stands for', () => {
    let t = 0;
    const lines: object[] = [];
    const warn = throttledWarn({ warn: (obj: object) => lines.push(obj) } as never, 'down', 1000, () => t);
    warn({ op: 'get' });
    for (t = 1; t < 1000; t += 100) warn({ op: 'get' });
    assert.equal(lines.length, 1);
    t = 1000;
    warn({ op: 'set' });
    assert.deepEqual(lines, [
      { op: 'get', occurrences: 1, interval_ms: 1000 },
      { op: 'set', occurrences: 11, interval_ms: 1000 },
    ]);
  });
});
