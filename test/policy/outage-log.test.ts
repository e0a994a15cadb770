import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutageLog } from '../../src/policy/outage-log.ts';

function setup(quietMs = 5000): { log: OutageLog; lines: Array<{ level: string; msg: string; obj: object }>; clock: { t: number } } {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  const clock = { t: 1_000_000 };
  const sink = { warn: (obj: object, msg: string) => void lines.push({ level: 'warn', msg, obj }), info: (obj: object, msg: string) => void lines.push({ level: 'info', msg, obj }) };
  return { log: new OutageLog(sink, quietMs, () => clock.t), lines, clock };
}

describe('OutageLog: one outage, one pair of lines', () => {
  it('a backend flipping between fault and success call by call (one Cluster shard down) logs one outage, ended only after a quiet period', () => {
    const { log, lines, clock } = setup();
    for (let i = 0; i < 200; i++) {
      clock.t += 10;
      if (i % 2 === 0) log.fault({}, 'down');
      else log.ok({}, 'up');
    }
    assert.deepEqual(lines.map((l) => l.level), ['warn'], 'no line per request while faults keep coming');
    clock.t += 4989; // the last fault was 10 ms before the loop ended
    log.ok({}, 'up');
    assert.equal(lines.length, 1, 'not over before 5 s without a fault');
    clock.t += 1;
    log.ok({}, 'up');
    assert.deepEqual(lines.map((l) => `${l.level} ${l.msg}`), ['warn down', 'info up']);
    assert.deepEqual(lines[1]!.obj, { failed_calls: 100, outage_ms: 1980 }, 'the end line counts the failed calls and the outage length');
    log.ok({}, 'up');
    assert.equal(lines.length, 2, 'nothing more while the backend answers');
  });

  it('a new outage after the end logs again; a success with no outage logs nothing', () => {
    const { log, lines, clock } = setup(0);
    log.ok({}, 'up');
    assert.equal(lines.length, 0);
    log.fault({}, 'down');
    log.ok({}, 'up');
    clock.t += 1;
    log.fault({}, 'down');
    assert.deepEqual(lines.map((l) => l.level), ['warn', 'info', 'warn']);
    assert.equal(log.down, true);
  });
});
