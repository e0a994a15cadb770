import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { assertPortsFree, envoyBindFailurePort, freePort, PortInUseError } from '../../src/cli/ports.ts';

test('a port someone holds is PortInUseError naming the listener; free ports pass and stay free', async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const held = (holder.address() as { port: number }).port;
  try {
    const free = await freePort();
    await assertPortsFree([{ listener: 'http', host: '127.0.0.1', port: free }]);
    await assertPortsFree([{ listener: 'http', host: '127.0.0.1', port: free }]); // released again
    await assert.rejects(
      assertPortsFree([
        { listener: 'http', host: '127.0.0.1', port: free },
        { listener: 'metrics', host: '127.0.0.1', port: held },
      ]),
      (err: unknown) => {
        assert.ok(err instanceof PortInUseError);
        assert.equal(err.listener, 'metrics');
        assert.equal(err.port, held);
        assert.equal(err.message, `port ${held} on 127.0.0.1 (metrics) is already in use`);
        return true;
      },
    );
  } finally {
    holder.close();
  }
});

test("the port in Envoy's bind failure", () => {
  const said = "[critical][main] error `cannot bind '127.0.0.1:45627': Address already in use` initializing config";
  assert.equal(envoyBindFailurePort(said), 45627);
  assert.equal(envoyBindFailurePort('all good'), undefined);
});

test('freePort never hands out the same port twice in a process (listeners started together must not collide)', async () => {
  const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length);
});
