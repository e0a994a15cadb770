import { z, type ZodError } from 'zod';
import type { RuntimeConfig } from '../config/runtime.ts';
import { InvalidRequestError, NotFoundError } from '../errors/gateway-error.ts';
import { keySchema } from '../config/keys-schema.ts';
import { sha256Hex, type GatewayKey } from '../policy/keys.ts';
import type { StateKeyDirectory } from '../policy/state-keys.ts';
import { decodeStoredKey, encodeStoredKey, GATEWAY_KEY_NAMESPACE, storedKeyId, toGatewayKey, type StoredKey } from '../policy/stored-key.ts';
import type { StateStore } from '../state/store.ts';
import { ConflictError, KeyStoreUnavailableError } from './errors.ts';
import { newKeySecret, redactedKey } from './secret.ts';

/**
 * A key as the admin API shows it: never the secret nor its hash. `source: "config"` keys come
 * from gateway.yaml (read-only, `id` null); `source: "admin"` keys were created through the API.
 * Settings use gateway.yaml's field names, so a listed key reads like a `keys:` entry.
 */
export interface AdminKeyView {
  readonly object: 'gateway.key';
  readonly id: string | null;
  readonly source: 'config' | 'admin';
  readonly name: string;
  readonly team: string;
  readonly feature: string | null;
  /** Scope patterns; null: every model. */
  readonly models: readonly string[] | null;
  readonly disabled: boolean;
  /** ISO 8601 UTC, or null: never. */
  readonly expiresAt: string | null;
  /** Answers carry `usage.cost` (USD). */
  readonly usageCost: boolean;
  /** May ask for routing explanations (`x-gateway-explain`). */
  readonly explain: boolean;
  /** ISO 8601 UTC; null for gateway.yaml keys. */
  readonly createdAt: string | null;
  /** `sk-llmx-...abcd`; null for gateway.yaml keys. */
  readonly redactedKey: string | null;
}

const fields = keySchema.shape;
/** POST /admin/keys: gateway.yaml's rules for a key (src/config/keys-schema.ts), minus how the secret is given. */
const createSchema = z.strictObject({
  name: fields.name,
  team: fields.team.removeDefault(),
  feature: fields.feature,
  models: fields.models,
  expiresAt: fields.expiresAt,
  disabled: fields.disabled,
  usageCost: fields.usageCost,
  explain: fields.explain,
});
/** PATCH /admin/keys/{id}: enable/disable, set or clear the expiry. */
const updateSchema = z.strictObject({
  disabled: fields.disabled.removeDefault().optional(),
  expiresAt: z.union([fields.expiresAt.unwrap(), z.null()]).optional(),
});

export interface AdminKeysOptions {
  readonly store: StateStore;
  /** The config in force (gateway.yaml keys, model and alias names). */
  readonly config: () => RuntimeConfig;
  /** This replica's cache of admin-created keys, told of every change so it applies at once here. */
  readonly directory?: StateKeyDirectory;
  readonly now?: () => number;
}

/**
 * Create, list, change and revoke admin-created gateway keys in the state backend (record
 * namespace `gateway-key`, id the secret's SHA-256). Throws GatewayErrors: 400 (validation,
 * naming the field), 404 `key_not_found`, 409 `key_name_taken` / `config_key_read_only`, 503
 * `state_unavailable` (backend fault). Changes on one replica are serialized; across replicas the
 * name check and the write are two steps (a race may create two keys of one name).
 */
export class AdminKeys {
  private readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: AdminKeysOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Creates a key; the result holds its secret, which exists nowhere else afterwards. */
  create(body: unknown): Promise<AdminKeyView & { readonly id: string; readonly key: string }> {
    return this.serialized(async () => {
      const input = parse(createSchema, body);
      const config = this.opts.config();
      const publicNames = new Set([...config.models.keys(), ...config.aliases.keys()]);
      (input.models ?? []).forEach((p, i) => {
        if (!p.includes('*') && !publicNames.has(p)) {
          throw new InvalidRequestError(`Invalid 'models[${i}]': "${p}" names no model or alias (patterns are exact and case-sensitive; use * for a family).`, {
            param: `models[${i}]`,
            code: 'invalid_value',
          });
        }
      });
      if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= this.now()) {
        throw new InvalidRequestError(`Invalid 'expiresAt': ${input.expiresAt} is not in the future.`, { param: 'expiresAt', code: 'invalid_value' });
      }
      const stored = await this.stored();
      if (config.keys.keys.some((k) => k.name === input.name) || stored.some((s) => s.key.name === input.name)) {
        throw new ConflictError(`A key named "${input.name}" already exists; key names are unique across gateway.yaml and the admin API.`, {
          param: 'name',
          code: 'key_name_taken',
        });
      }
      let secret: string;
      let hash: string;
      // The id is the hash's first 12 hex: draw again in the (2^-48) case it is taken.
      do {
        secret = newKeySecret();
        hash = sha256Hex(secret);
      } while (stored.some((s) => s.key.id === storedKeyId(hash)) || config.keys.find(hash));
      const key: StoredKey = {
        id: storedKeyId(hash),
        name: input.name,
        team: input.team,
        ...(input.feature !== undefined ? { feature: input.feature } : {}),
        ...(input.models !== undefined ? { models: [...new Set(input.models)].sort() } : {}),
        disabled: input.disabled,
        ...(input.expiresAt !== undefined ? { expiresAt: new Date(input.expiresAt).toISOString() } : {}),
        ...(input.usageCost ? { usageCost: true } : {}),
        ...(input.explain ? { explain: true } : {}),
        createdAt: new Date(this.now()).toISOString(),
        hint: secret.slice(-4),
      };
      await this.state(() => this.opts.store.putRecord(GATEWAY_KEY_NAMESPACE, hash, encodeStoredKey(key)));
      this.opts.directory?.forget(hash);
      return { ...adminView(key), key: secret };
    });
  }

  /** gateway.yaml's keys (in file order), then the admin-created ones (by id). */
  async list(): Promise<AdminKeyView[]> {
    const stored = await this.stored();
    return [...this.opts.config().keys.keys.map(configView), ...stored.map((s) => adminView(s.key))];
  }

  /** The key named `name` as the request path sees it (gateway.yaml's first, then admin-created), or undefined. */
  async gatewayKeyNamed(name: string): Promise<GatewayKey | undefined> {
    const configured = this.opts.config().keys.keys.find((k) => k.name === name);
    if (configured) return configured;
    const stored = (await this.stored()).find((s) => s.key.name === name);
    return stored ? toGatewayKey(stored.key) : undefined;
  }

  async get(id: string): Promise<AdminKeyView> {
    return adminView((await this.find(id)).key);
  }

  /** Disables/enables a key or sets/clears its expiry. */
  update(id: string, body: unknown): Promise<AdminKeyView & { readonly id: string }> {
    return this.serialized(async () => {
      const input = parse(updateSchema, body);
      const { hash, key } = await this.find(id);
      const { expiresAt: _old, ...rest } = key;
      const expiresAt = input.expiresAt === undefined ? key.expiresAt : input.expiresAt === null ? undefined : new Date(input.expiresAt).toISOString();
      const next: StoredKey = { ...rest, disabled: input.disabled ?? key.disabled, ...(expiresAt !== undefined ? { expiresAt } : {}) };
      await this.state(() => this.opts.store.putRecord(GATEWAY_KEY_NAMESPACE, hash, encodeStoredKey(next)));
      this.opts.directory?.forget(hash);
      return adminView(next);
    });
  }

  /** Deletes the key's record: it is refused on this replica at once, on others within the lookup cache's bound. */
  revoke(id: string): Promise<{ object: 'gateway.key.deleted'; id: string; deleted: true; name: string }> {
    return this.serialized(async () => {
      const { hash, key } = await this.find(id);
      await this.state(() => this.opts.store.deleteRecord(GATEWAY_KEY_NAMESPACE, hash));
      this.opts.directory?.forget(hash);
      return { object: 'gateway.key.deleted', id: key.id, deleted: true, name: key.name };
    });
  }

  private async find(id: string): Promise<{ hash: string; key: StoredKey }> {
    const found = (await this.stored()).find((s) => s.key.id === id);
    if (found) return found;
    const configured = this.opts.config().keys.keys.some((k) => k.name === id);
    if (configured) {
      throw new ConflictError(`The key "${id}" is defined in gateway.yaml and can be changed only there.`, { param: 'id', code: 'config_key_read_only' });
    }
    throw new NotFoundError(`No key with id '${id.slice(0, 64)}'.`, { param: 'id', code: 'key_not_found' });
  }

  /** Every readable admin-created key with its hash (unreadable records are skipped). */
  private async stored(): Promise<Array<{ hash: string; key: StoredKey }>> {
    const records = await this.state(() => this.opts.store.listRecords(GATEWAY_KEY_NAMESPACE));
    const out: Array<{ hash: string; key: StoredKey }> = [];
    for (const r of records) {
      try {
        out.push({ hash: r.id, key: decodeStoredKey(r.value) });
      } catch {
        // written by another version, or corrupt: it grants nothing (state-keys.ts) and is not shown
      }
    }
    return out;
  }

  /** Runs a state call; a backend fault becomes the API's 503. */
  private async state<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new KeyStoreUnavailableError(err);
    }
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function adminView(k: StoredKey): AdminKeyView & { readonly id: string } {
  return {
    object: 'gateway.key',
    id: k.id,
    source: 'admin',
    name: k.name,
    team: k.team,
    feature: k.feature ?? null,
    models: k.models ?? null,
    disabled: k.disabled,
    expiresAt: k.expiresAt ?? null,
    usageCost: k.usageCost === true,
    explain: k.explain === true,
    createdAt: k.createdAt,
    redactedKey: redactedKey(k.hint),
  };
}

function configView(k: GatewayKey): AdminKeyView {
  return {
    object: 'gateway.key',
    id: null,
    source: 'config',
    name: k.name,
    team: k.team,
    feature: k.feature ?? null,
    models: k.scope.unrestricted ? null : k.scope.patterns,
    disabled: k.disabled,
    expiresAt: k.expiresAtMs === undefined ? null : new Date(k.expiresAtMs).toISOString(),
    usageCost: k.usageCost === true,
    explain: k.explain === true,
    createdAt: null,
    redactedKey: null,
  };
}

/** zod → a 400 naming the first offending field, in OpenAI's words. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = (r.error as ZodError).issues[0]!;
  const param = issue.path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    throw new InvalidRequestError(`Unrecognized request argument supplied: ${key}`, { param: key, code: 'unknown_parameter' });
  }
  const what = param === '' ? 'the request body' : `'${param}'`;
  throw new InvalidRequestError(`Invalid ${what}: ${issue.message}.`, { param: param || null, code: param === '' ? 'invalid_request_body' : 'invalid_value' });
}
