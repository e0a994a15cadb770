import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import { checkBenchArgs, parseArgsErrorLine, UsageError } from '../../bench/options.ts';

/** `npm run bench` option checks (bench/options.ts): pure, nothing starts. */

const refuses = (args: Parameters<typeof checkBenchArgs>[0], pattern: RegExp): void => {
  assert.throws(
    () => checkBenchArgs(args),
    (err: unknown) => err instanceof UsageError && pattern.test(err.message) && !err.message.includes('\n'),
  );
};

test("a mode's own option without its mode is refused (it would start the full benchmark)", () => {
  refuses({ 'soak-minutes': '1' }, /^--soak-minutes needs --soak or --soak-redis/);
  refuses({ 'anchors-rounds': '2' }, /^--anchors-rounds needs --anchors/);
  refuses({ 'anchors-seconds': '2' }, /^--anchors-seconds needs --anchors/);
  refuses({ 'tail-seconds': '5' }, /^--tail-seconds needs --tail/);
  refuses({ 'profile-seconds': '5' }, /^--profile-seconds needs --profile/);
  refuses({ 'head-of-line-seconds': '5' }, /^--head-of-line-seconds needs --head-of-line/);
  refuses({ 'limits-off': true }, /^--limits-off needs --head-of-line/);
  refuses({ anchors: true, 'soak-minutes': '5' }, /^--soak-minutes needs --soak/);
});

test('path selections are refused by the fixed-path modes', () => {
  refuses({ anchors: true, paths: 'bare-openai' }, /^--paths does not apply to --anchors: that mode measures fixed paths/);
  refuses({ soak: true, profiles: 'instant' }, /^--profiles does not apply to --soak/);
  refuses({ 'soak-redis': true, policies: true }, /^--policies does not apply to --soak-redis/);
  refuses({ tail: true, paths: 'gateway-openai' }, /^--paths does not apply to --tail/);
  // The main benchmark takes them.
  assert.deepEqual(checkBenchArgs({ paths: 'bare-openai', profiles: 'instant', policies: true }).soakMinutes, undefined);
});

test('bad values name the option and what it takes, on one line', () => {
  refuses({ anchors: true, 'anchors-rounds': '0' }, /^--anchors-rounds takes a whole number > 0, not "0"$/);
  refuses({ anchors: true, 'anchors-rounds': '1.5' }, /^--anchors-rounds takes a whole number/);
  refuses({ anchors: true, 'anchors-seconds': 'abc' }, /^--anchors-seconds takes a number ≥ 0.5, not "abc"$/);
  refuses({ anchors: true, 'anchors-seconds': '0.0001' }, /^--anchors-seconds takes a number ≥ 0.5/);
  refuses({ soak: true, 'soak-minutes': '-1' }, /^--soak-minutes takes a number ≥ 2 \(the verdicts need a settled minute and a last minute\)/);
  refuses({ soak: true, 'soak-minutes': '0.1' }, /^--soak-minutes takes a number ≥ 2/);
  refuses({ tail: true, 'tail-seconds': '' }, /^--tail-seconds takes a number > 0/);
  refuses({ 'envoy-concurrency': 'two' }, /^--envoy-concurrency takes a whole number > 0/);
});

test('good values come back as numbers; absent ones as undefined (the mode default)', () => {
  assert.deepEqual(checkBenchArgs({ anchors: true, 'anchors-rounds': '1', 'anchors-seconds': '0.5' }), {
    soakMinutes: undefined,
    tailSeconds: undefined,
    profileSeconds: undefined,
    headOfLineSeconds: undefined,
    anchorsSeconds: 0.5,
    anchorsRounds: 1,
    envoyConcurrency: undefined,
  });
  assert.equal(checkBenchArgs({ soak: true, 'soak-minutes': '2' }).soakMinutes, 2);
  assert.equal(checkBenchArgs({ 'soak-redis': true, 'soak-minutes': '10' }).soakMinutes, 10);
  assert.equal(checkBenchArgs({ 'head-of-line': true, 'limits-off': true, 'head-of-line-seconds': '3' }).headOfLineSeconds, 3);
});

test("parseArgs' dash-value error becomes one line with the --opt=VALUE hint", () => {
  let err: (Error & { code?: string }) | undefined;
  try {
    parseArgs({ args: ['--soak-minutes', '-1'], options: { 'soak-minutes': { type: 'string' } } });
  } catch (e) {
    err = e as Error & { code?: string };
  }
  assert.ok(err);
  assert.equal(parseArgsErrorLine(err), '--soak-minutes needs a value; a value starting with a dash goes as --soak-minutes=VALUE');
});
