import type { Server } from 'node:http';
import { ConfigStore } from '../../src/config/store.ts';
import { AdminKeys } from '../../src/admin/key-service.ts';
import { startAdminServer } from '../../src/admin/server.ts';
import { sha256Hex } from '../../src/policy/keys.ts';
import { StateKeyDirectory } from '../../src/policy/state-keys.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { scratchDir, smallConfig } from '../support/unit/config.ts';

export const ADMIN_KEY = 'sk-llmx-admin-test-key-0123456789';
export const CONFIG_KEY = 'sk-config-caller-key-0001';

/** Two models (one with an alias), one gateway.yaml key `caller`, and the admin API on with ADMIN_KEY. */
export function adminConfig(): { configs: ConfigStore; cleanup(): void } {
  const scratch = scratchDir();
  const file = scratch.write(
    'gateway.yaml',
    smallConfig({
      server: `server:\n  admin: { listen: 127.0.0.1:0, sha256: ${sha256Hex(ADMIN_KEY)} }\n`,
      models:
        'models:\n' +
        '  m1:\n    pricing: { free: true }\n    aliases: [cheap]\n    targets:\n      - { provider: p1, model: upstream-m1 }\n' +
        '  m2-large:\n    pricing: { free: true }\n    targets:\n      - { provider: p1, model: upstream-m2 }\n',
      keys: `keys:\n  - { name: caller, team: core, sha256: ${sha256Hex(CONFIG_KEY)}, models: [m1] }\n`,
    }),
  );
  return { configs: new ConfigStore(file, { P1_KEY: 'p1-secret' }), cleanup: () => scratch.cleanup() };
}

export interface AdminFixture {
  readonly url: string;
  readonly store: StateStore;
  readonly configs: ConfigStore;
  readonly directory: StateKeyDirectory;
  /** fetch on the admin API with the admin key (or `key`), JSON in and out. */
  call(method: string, path: string, body?: unknown, key?: string | null): Promise<{ status: number; headers: Headers; json: any }>;
  close(): Promise<void>;
}

/** The admin API over HTTP on a free loopback port, on `store` (default: an in-memory embedded store). */
export async function startAdminFixture(opts: { store?: StateStore; now?: () => number } = {}): Promise<AdminFixture> {
  const { configs, cleanup } = adminConfig();
  const store = opts.store ?? new EmbeddedStateStore({ sqlitePath: ':memory:' });
  const directory = new StateKeyDirectory(store, opts.now ? { now: opts.now } : {});
  const keys = new AdminKeys({ store, config: () => configs.current, directory });
  const server: Server = await startAdminServer('127.0.0.1', 0, {
    keys,
    adminKeySha256: () => configs.current.admin?.keySha256,
    spend: { store, ...(opts.now ? { now: opts.now } : {}) },
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    store,
    configs,
    directory,
    async call(method, path, body, key = ADMIN_KEY) {
      const headers: Record<string, string> = {};
      if (key !== null) headers.authorization = `Bearer ${key}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      if (!opts.store) await store.close();
      configs.close();
      cleanup();
    },
  };
}
