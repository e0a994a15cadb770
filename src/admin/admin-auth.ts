import { timingSafeEqual } from 'node:crypto';
import { AuthError } from '../errors/gateway-error.ts';
import { bearerSecret } from '../policy/authenticate.ts';
import { sha256Hex } from '../policy/keys.ts';

/**
 * Checks `Authorization: Bearer <admin key>` against the configured SHA-256 (hex) in constant
 * time (both sides are 32-byte digests, compared with crypto.timingSafeEqual). Throws
 * AuthError 401: `missing_api_key` without a bearer key, `invalid_api_key` for any other key or
 * when no admin key is configured (fail closed). The key is never echoed.
 */
export function checkAdminKey(authorization: string | undefined, expectedSha256: string | undefined): void {
  const presented = Buffer.from(sha256Hex(bearerSecret(authorization)), 'hex');
  const expected = Buffer.from(expectedSha256 ?? '', 'hex');
  if (expected.length !== presented.length || !timingSafeEqual(presented, expected)) {
    throw new AuthError('Incorrect admin key provided.', { code: 'invalid_api_key' });
  }
}
