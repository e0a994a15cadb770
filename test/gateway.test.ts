import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { Gateway } from '../src/gateway.ts';
import { ListenError, parseListenError } from '../src/listen-error.ts';
import { GatewayMetrics } from '../src/metrics/metrics.ts';
import { startMetricsServer } from '../src/metrics/server.ts';
import { freePort } from '../src/cli/ports.ts';
import { DEMO_CONFIG, DEMO_ENV } from './support/unit/config.ts';

const silent = pino({ level: 'silent' });

async function hold(): Promise<{ server: Server; address: string }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

test('/healthz says serving while the gRPC server serves; the service is down once stop() returns', async () => {
  const metricsPort = await freePort();
  const gw = await Gateway.start({ configFile: DEMO_CONFIG, env: DEMO_ENV, listen: '127.0.0.1:0', metricsListen: `127.0.0.1:${metricsPort}`, logger: silent, watchConfig: false });
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'serving' });
  } finally {
    await gw.stop();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/healthz`), 'a stopped service does not answer');
});

test('/healthz is 503 not_serving when the gRPC server is not serving', async () => {
  let serving = true;
  const server = (await startMetricsServer('127.0.0.1:0', new GatewayMetrics(), () => serving))!;
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/healthz`;
  try {
    assert.equal((await fetch(url)).status, 200);
    serving = false;
    const res = await fetch(url);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'not_serving' });
  } finally {
    server.close();
  }
});

for (const listener of ['extproc', 'metrics'] as const) {
  test(`a taken ${listener} port is a ListenError naming the setting to change`, async () => {
    const held = await hold();
    const free = `127.0.0.1:${await freePort()}`;
    try {
      await assert.rejects(
        Gateway.start({
          configFile: DEMO_CONFIG,
          env: DEMO_ENV,
          listen: listener === 'extproc' ? held.address : '127.0.0.1:0',
          metricsListen: listener === 'metrics' ? held.address : free,
          logger: silent,
          watchConfig: false,
        }),
        (err: unknown) => {
          assert.ok(err instanceof ListenError);
          assert.equal(err.listener, listener);
          assert.equal(
            err.message,
            listener === 'extproc'
              ? `cannot listen on ${held.address} (ext_proc gRPC): address already in use; change server.listen in the config or --listen`
              : `cannot listen on ${held.address} (metrics): address already in use; change server.metricsListen in the config or --metrics-listen`,
          );
          assert.deepEqual(parseListenError(`${err.message}\n`), { listener, address: held.address });
          return true;
        },
      );
    } finally {
      held.server.close();
    }
  });
}
