import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseDemoKey, DEFAULT_DEMO_KEY, HELP, parseStartOptions, PORT_FLAGS, UsageError } from '../../src/cli/options.ts';

test('defaults: the README ports, simulators on, free admin and ext_proc ports, log format auto', () => {
  const o = parseStartOptions([]);
  assert.deepEqual(o, { help: false, httpPort: 8080, httpsPort: 8443, metricsPort: 9464, adminApiPort: 9465, adminPort: 0, extprocPort: 0, simulators: true, logFormat: 'auto' });
});

test('every option is parsed, and every option is in the help text', () => {
  const o = parseStartOptions([
    '--config', 'a.yaml', '--envoy-config', 'e.yaml', '--http-port', '1', '--https-port', '2', '--metrics-port', '3',
    '--admin-port', '4', '--extproc-port', '5', '--no-simulators', '--run-dir', '/tmp/x', '--log-format', 'json',
  ]);
  assert.deepEqual(o, {
    help: false, config: 'a.yaml', envoyConfig: 'e.yaml', httpPort: 1, httpsPort: 2, metricsPort: 3, adminApiPort: 9465, adminPort: 4, extprocPort: 5,
    simulators: false, runDir: '/tmp/x', logFormat: 'json',
  });
  for (const flag of ['--config', '--envoy-config', '--no-simulators', '--run-dir', '--log-format', '--help', ...Object.values(PORT_FLAGS)]) {
    assert.ok(HELP.includes(flag), `${flag} in --help`);
  }
  assert.equal(parseStartOptions(['--help']).help, true);
  assert.equal(parseStartOptions(['-h']).help, true);
});

test('an unknown option, a stray argument or a bad port is one line, not a stack trace', () => {
  for (const [args, re] of [
    [['--bogus'], /^Unknown option '--bogus'$/],
    [['stray'], /^Unexpected argument 'stray'$/],
    [['--http-port'], /--http-port/],
    [['--http-port', 'abc'], /^--http-port must be a port number from 0 to 65535, got "abc"$/],
    [['--metrics-port', '70000'], /^--metrics-port must be a port number/],
    [['--log-format', 'xml'], /^--log-format must be auto, pretty or json/],
  ] as Array<[string[], RegExp]>) {
    assert.throws(() => parseStartOptions(args), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

test('the demo key: $GATEWAY_DEMO_KEY, else fixed for the embedded demo only, else random (undefined here)', () => {
  assert.equal(chooseDemoKey(parseStartOptions([]), {}), DEFAULT_DEMO_KEY);
  assert.equal(chooseDemoKey(parseStartOptions([]), { GATEWAY_DEMO_KEY: 'sk-mine' }), 'sk-mine');
  assert.equal(chooseDemoKey(parseStartOptions(['--config', 'mine.yaml']), {}), undefined);
  assert.equal(chooseDemoKey(parseStartOptions(['--envoy-config', 'mine.yaml']), {}), undefined);
  assert.equal(chooseDemoKey(parseStartOptions(['--no-simulators']), {}), undefined);
  assert.equal(chooseDemoKey(parseStartOptions(['--no-simulators']), { GATEWAY_DEMO_KEY: 'sk-mine' }), 'sk-mine');
});

test('--extproc-socket: an absolute path of at most 107 bytes, not with --extproc-port', () => {
  assert.equal(parseStartOptions(['--extproc-socket', '/tmp/llmx/extproc.sock']).extprocSocket, '/tmp/llmx/extproc.sock');
  assert.equal(parseStartOptions([]).extprocSocket, undefined);
  assert.ok(HELP.includes('--extproc-socket PATH'));
  for (const [args, re] of [
    [['--extproc-socket', 'run/extproc.sock'], /^--extproc-socket "run\/extproc.sock": the socket path must be absolute/],
    [['--extproc-socket', `/${'s'.repeat(107)}`], /^--extproc-socket "\/s+": the socket path is 108 bytes, over the 107/],
    [['--extproc-socket', '/tmp/x.sock', '--extproc-port', '5'], /^--extproc-socket and --extproc-port exclude each other/],
  ] as Array<[string[], RegExp]>) {
    assert.throws(() => parseStartOptions(args), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, re);
      return true;
    });
  }
});
