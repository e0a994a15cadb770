import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from '../config/errors.ts';
import { sha256Hex } from '../policy/keys.ts';

/**
 * gateway.yaml `server.admin`: the admin key API (src/admin/server.ts). Present: keys created
 * through the API (stored hashed in the state backend) are honoured next to gateway.yaml's;
 * `listen` non-empty: this replica also serves the API, guarded by the admin key.
 *
 * ```yaml
 * server:
 *   admin:
 *     listen: 127.0.0.1:9465        # default; "" = no admin listener on this replica
 *     fromEnv: GATEWAY_ADMIN_KEY    # or sha256: <64 hex>, the SHA-256 of the admin key
 *     allowRemote: false            # true lets listen bind a non-loopback address
 * ```
 */
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9465';

const FIELDS = ['listen', 'sha256', 'fromEnv', 'allowRemote'];

export const adminConfigSchema = z
  .strictObject(
    {
      /** host:port of the admin HTTP listener; empty: none on this replica. */
      listen: z.string().default(DEFAULT_ADMIN_LISTEN),
      /** Hex SHA-256 of the admin key (the key itself never lives in the file). */
      sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters (sha256 of the admin key)').optional(),
      /** Or: the environment variable holding the admin key (hashed at load). */
      fromEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
      /** The admin API can mint keys: it binds loopback only unless this is true. */
      allowRemote: z.boolean().default(false),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys' ? `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')} (expected: ${FIELDS.join(', ')})` : undefined,
    },
  )
  .superRefine((a, ctx) => {
    if (a.sha256 !== undefined && a.fromEnv !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'exactly one of sha256 or fromEnv (the admin key), not both' });
    }
    if (a.listen === '') return;
    if (a.sha256 === undefined && a.fromEnv === undefined) {
      ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'the admin listener needs an admin key: set sha256 or fromEnv (or listen: "" for no listener)' });
    }
    const addr = splitHostPort(a.listen);
    if (!addr) {
      ctx.addIssue({ code: 'custom', path: ['listen'], message: `"${a.listen}" is not host:port (e.g. ${DEFAULT_ADMIN_LISTEN})` });
    } else if (!a.allowRemote && !isLoopback(addr.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['listen'],
        message:
          `"${a.listen}" is not a loopback address; the admin API creates and revokes gateway keys, so it listens on ` +
          '127.0.0.1, ::1 or localhost unless allowRemote: true is set (then guard it with your own network policy or TLS proxy)',
      });
    }
  });
export type AdminConfig = z.infer<typeof adminConfigSchema>;

/** `server.admin` compiled: undefined when the section is absent (admin-created keys are then not honoured). */
export interface AdminSettings {
  /** host:port, or '' when this replica serves no admin API (also when the key's variable is unset). */
  readonly listen: string;
  /** SHA-256 (hex) of the admin key; undefined when the listener is off. */
  readonly keySha256?: string;
  /** Why a configured listener is off (for the start-up warning), e.g. an unset variable. */
  readonly offReason?: string;
}

/**
 * Resolves the admin key. A `fromEnv` variable that is unset turns the listener off (with
 * `offReason`) instead of failing the whole config: the API is an operator tool, and without a
 * key nobody may use it; every other part of the gateway serves as configured.
 */
export function compileAdminSettings(cfg: AdminConfig | undefined, source: string, env: NodeJS.ProcessEnv): AdminSettings | undefined {
  if (cfg === undefined) return undefined;
  if (cfg.listen === '') return Object.freeze({ listen: '' });
  if (cfg.sha256 !== undefined) return Object.freeze({ listen: cfg.listen, keySha256: cfg.sha256 });
  const secret = env[cfg.fromEnv!];
  if (!secret) return Object.freeze({ listen: '', offReason: `server.admin.fromEnv: environment variable ${cfg.fromEnv} is not set` });
  if (secret.length < 16) throw new ConfigError(source, 'server.admin.fromEnv', `the admin key in ${cfg.fromEnv} is shorter than 16 characters`);
  return Object.freeze({ listen: cfg.listen, keySha256: sha256Hex(secret) });
}

/** `host:port` → parts; IPv6 in brackets (`[::1]:9465`). Undefined when malformed. */
export function splitHostPort(listen: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(listen);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}
