import type { StateStore } from '../state/store.ts';
import { StateUnavailableError } from '../state/errors.ts';
import { admitKey, bearerSecret } from './authenticate.ts';
import { sha256Hex, type GatewayKey, type KeyDirectory } from './keys.ts';
import { StateUnavailableRefusal } from './rate-limit-errors.ts';
import { decodeStoredKey, GATEWAY_KEY_NAMESPACE, toGatewayKey } from './stored-key.ts';

/** How long a lookup (found or not) is reused: the bound on how late a revocation takes effect. */
export const STATE_KEY_CACHE_MS = 5000;

export interface StateKeyDirectoryOptions {
  /** ms a lookup is reused, found or not (default STATE_KEY_CACHE_MS). */
  readonly ttlMs?: number;
  /** Most cached lookups (default 10,000); the oldest go first. */
  readonly maxEntries?: number;
  /** Clock, epoch ms (default Date.now). */
  readonly now?: () => number;
  /** A backend fault or an unreadable record (for the operator's log); the lookup still fails closed. */
  readonly onFault?: (err: unknown) => void;
}

interface Cached {
  readonly key: GatewayKey | undefined;
  readonly until: number;
}

/**
 * Keys created through the admin API, found by the SHA-256 of their secret in the state backend
 * (record namespace `gateway-key`, src/policy/stored-key.ts). Each lookup, found or not, is kept
 * for `ttlMs`, so a known caller costs no backend round trip and a revocation reaches every
 * replica within `ttlMs`; concurrent lookups of one hash share one round trip.
 *
 * A backend fault is never a verdict on the key: the lookup rejects with StateUnavailableRefusal
 * (503 `state_unavailable`, `retry-after: 1`), so an outage neither lets a revoked key in nor
 * tells a valid caller that its key is wrong. Nothing stale is served after `ttlMs`.
 */
export class StateKeyDirectory {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<GatewayKey | undefined>>();

  constructor(
    private readonly store: StateStore,
    private readonly opts: StateKeyDirectoryOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? STATE_KEY_CACHE_MS;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** The key (disabled and expired ones included) or undefined; synchronous while cached. */
  find(hash: string): GatewayKey | undefined | Promise<GatewayKey | undefined> {
    const hit = this.cache.get(hash);
    if (hit !== undefined) {
      if (hit.until > this.now()) return hit.key;
      this.cache.delete(hash);
    }
    const pending = this.inFlight.get(hash);
    if (pending) return pending;
    const lookup = this.lookup(hash).finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, lookup);
    return lookup;
  }

  /** Drops a cached lookup (this replica just created, changed or revoked the key). */
  forget(hash: string): void {
    this.cache.delete(hash);
  }

  private async lookup(hash: string): Promise<GatewayKey | undefined> {
    let value: string | undefined;
    try {
      if (!this.store.isReady()) throw new StateUnavailableError(this.store.backend, 'getRecord', 'not connected');
      value = await this.store.getRecord(GATEWAY_KEY_NAMESPACE, hash);
    } catch (err) {
      this.opts.onFault?.(err);
      throw new StateUnavailableRefusal('API keys', err);
    }
    let key: GatewayKey | undefined;
    if (value !== undefined) {
      try {
        key = toGatewayKey(decodeStoredKey(value));
      } catch (err) {
        // A record this version cannot read grants nothing.
        this.opts.onFault?.(new Error(`unreadable ${GATEWAY_KEY_NAMESPACE} record ${hash.slice(0, 12)}: ${(err as Error).message.slice(0, 200)}`));
      }
    }
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, { key, until: this.now() + this.ttlMs });
    return key;
  }
}

/**
 * authenticate (src/policy/authenticate.ts) over gateway.yaml's keys, then the admin-created
 * ones: synchronous for a gateway.yaml key and for a cached lookup, a promise otherwise. The
 * same 401s for a missing, unknown, disabled or expired key; 503 `state_unavailable` when the
 * state backend cannot answer for a key gateway.yaml does not hold.
 */
export function authenticateCaller(
  config: KeyDirectory,
  state: StateKeyDirectory | undefined,
  authorization: string | undefined,
  nowMs: number,
): GatewayKey | Promise<GatewayKey> {
  const hash = sha256Hex(bearerSecret(authorization));
  const configured = config.find(hash);
  if (configured !== undefined || state === undefined) return admitKey(configured, nowMs);
  const found = state.find(hash);
  return found instanceof Promise ? found.then((key) => admitKey(key, nowMs)) : admitKey(found, nowMs);
}
