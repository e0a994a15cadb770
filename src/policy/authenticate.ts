import { AuthError } from '../errors/gateway-error.ts';
import { sha256Hex, type GatewayKey, type KeyDirectory } from './keys.ts';

/**
 * A key that exists but may not be used now (disabled, expired). The caller sees exactly what an
 * unknown key gets (401 `invalid_api_key`, same message), so nobody can probe which keys exist;
 * `key` is for the operator's log line only.
 */
export class KeyRefusedError extends AuthError {
  constructor(
    readonly key: GatewayKey,
    readonly reason: 'disabled' | 'expired',
  ) {
    super(INVALID_KEY_MESSAGE, { code: 'invalid_api_key' });
  }
}

const INVALID_KEY_MESSAGE = 'Incorrect API key provided.';
const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";

/**
 * The caller behind an `Authorization: Bearer <key>` header value, checked at `nowMs` (epoch ms,
 * the request's time, not the config's load time). Throws AuthError (401, OpenAI's wording):
 * `missing_api_key` without a bearer key, `invalid_api_key` for an unknown key, and
 * KeyRefusedError (the same 401) for a disabled key or one whose `expiresAt` is at or before
 * `nowMs`. The key itself is never echoed, not even masked.
 */
export function authenticate(directory: KeyDirectory, authorization: string | undefined, nowMs: number): GatewayKey {
  return admitKey(directory.find(sha256Hex(bearerSecret(authorization))), nowMs);
}

/** The secret of an `Authorization: Bearer <key>` header value; AuthError `missing_api_key` without one. */
export function bearerSecret(authorization: string | undefined): string {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!match) throw new AuthError(MISSING_KEY_MESSAGE, { code: 'missing_api_key' });
  return match[1]!;
}

/** The found key if usable at `nowMs`; the 401s of `authenticate` otherwise (any directory). */
export function admitKey(key: GatewayKey | undefined, nowMs: number): GatewayKey {
  if (!key) throw new AuthError(INVALID_KEY_MESSAGE, { code: 'invalid_api_key' });
  if (key.disabled) throw new KeyRefusedError(key, 'disabled');
  if (key.expiresAtMs !== undefined && nowMs >= key.expiresAtMs) throw new KeyRefusedError(key, 'expired');
  return key;
}
