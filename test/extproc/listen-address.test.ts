import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcAddress, ListenAddressError, parseListenAddress, parseSocketPath, SUN_PATH_MAX_BYTES } from '../../src/extproc/listen-address.ts';

test('host:port, IPv6 in brackets and port 0 are TCP addresses, written back as gRPC binds them', () => {
  for (const [text, host, port, back] of [
    ['127.0.0.1:50051', '127.0.0.1', 50051, '127.0.0.1:50051'],
    ['0.0.0.0:0', '0.0.0.0', 0, '0.0.0.0:0'],
    ['gateway:50051', 'gateway', 50051, 'gateway:50051'],
    ['localhost:1', 'localhost', 1, 'localhost:1'],
    ['[::1]:50051', '::1', 50051, '[::1]:50051'],
  ] as const) {
    const a = parseListenAddress(text);
    assert.deepEqual(a, { kind: 'tcp', host, port });
    assert.equal(grpcAddress(a), back);
  }
});

test('unix:/abs and gRPC\'s unix:///abs are the same socket file; Envoy and grpc-js get unix:/abs', () => {
  assert.deepEqual(parseListenAddress('unix:/run/llmx/extproc.sock'), { kind: 'unix', path: '/run/llmx/extproc.sock' });
  assert.deepEqual(parseListenAddress('unix:///run/llmx/extproc.sock'), { kind: 'unix', path: '/run/llmx/extproc.sock' });
  assert.equal(grpcAddress(parseListenAddress('unix:///run//llmx/./extproc.sock')), 'unix:/run/llmx/extproc.sock');
});

test('a socket path of exactly 107 bytes is accepted; 108 is refused with its length and the sun_path limit', () => {
  const at = (n: number): string => `/${'a'.repeat(n - 1)}`;
  assert.equal(SUN_PATH_MAX_BYTES, 107);
  assert.deepEqual(parseListenAddress(`unix:${at(107)}`), { kind: 'unix', path: at(107) });
  assert.throws(() => parseListenAddress(`unix:${at(108)}`, '--listen'), (err: unknown) => {
    assert.ok(err instanceof ListenAddressError);
    assert.match(err.message, /^--listen "unix:\/a+": the socket path is 108 bytes, over the 107 a Unix socket address holds \(sun_path\)/);
    return true;
  });
  // Bytes, not characters: '/' and 53 two-byte characters are 107 bytes, with 54 they are 109.
  assert.doesNotThrow(() => parseListenAddress(`unix:/${'é'.repeat(53)}`));
  assert.throws(() => parseListenAddress(`unix:/${'é'.repeat(54)}`), /the socket path is 109 bytes/);
});

test('malformed addresses are refused with the setting, the text and what to write instead', () => {
  for (const [text, why] of [
    ['unix:run/extproc.sock', /the socket path must be absolute/],
    ['unix:./x.sock', /the socket path must be absolute/],
    ['unix:', /no socket path/],
    ['unix://host/x.sock', /a socket path needs no host/],
    ['unix:/run/llmx/', /names a directory/],
    ['unix:/run/a\0b', /NUL/],
    ['http://127.0.0.1:50051', /scheme "http:" is not supported/],
    ['unix-abstract:extproc', /scheme "unix-abstract:" is not supported/],
    ['dns:///gateway:50051', /scheme "dns:" is not supported/],
    ['127.0.0.1', /not an address/],
    ['127.0.0.1:70000', /not an address/],
    ['', /not an address/],
  ] as Array<[string, RegExp]>) {
    assert.throws(() => parseListenAddress(text, 'server.listen'), (err: unknown) => {
      assert.ok(err instanceof ListenAddressError, text);
      assert.ok(err.message.startsWith(`server.listen "${text}": `), err.message);
      assert.match(err.message, why);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
  assert.throws(() => parseListenAddress('unix:x.sock'), /e\.g\. 127\.0\.0\.1:50051\) or unix:\/absolute\/path\.sock/);
});

test('--extproc-socket takes a bare path; its errors suggest a path, never host:port or unix:', () => {
  assert.equal(parseSocketPath('/run//llmx/./extproc.sock'), '/run/llmx/extproc.sock');
  for (const [text, why] of [
    ['unix:/tmp/llmx-x.sock', /takes the path alone, without unix:/],
    ['llmx-rel.sock', /the socket path must be absolute/],
    ['', /no socket path/],
    [`/${'s'.repeat(107)}`, /the socket path is 108 bytes/],
    ['/run/llmx/', /names a directory/],
  ] as Array<[string, RegExp]>) {
    assert.throws(() => parseSocketPath(text, '--extproc-socket'), (err: unknown) => {
      assert.ok(err instanceof ListenAddressError, text);
      assert.ok(err.message.startsWith(`--extproc-socket "${text}": `), err.message);
      assert.match(err.message, why);
      assert.doesNotMatch(err.message, /host:port|unix:\/absolute/);
      return true;
    });
  }
  assert.throws(() => parseSocketPath('rel.sock'), /; give an absolute path, e\.g\. \/tmp\/llmx-extproc\.sock$/);
});
