import { GatewayError, InvalidRequestError } from '../errors/gateway-error.ts';

/** 409: the request conflicts with a key that exists (a name already taken, a gateway.yaml key). */
export class ConflictError extends InvalidRequestError {
  override readonly status = 409;
}

/**
 * The state backend could not read or write keys: 503 `state_unavailable`, `retry-after: 1`.
 * A write either happened whole or not at all (one record per key); the caller retries.
 */
export class KeyStoreUnavailableError extends GatewayError {
  readonly status = 503;
  readonly openaiType = 'service_unavailable_error' as const;
  constructor(cause: unknown) {
    super('The key store (state backend) is unavailable. Retry later.', { code: 'state_unavailable', retryAfterSeconds: 1, cause });
  }
}

/**
 * A state backend read of an admin route failed (the spend history): 503 `state_unavailable`,
 * `retry-after: 1`. The text names neither backend address nor operation (the warn line names the
 * operation, never host or port).
 */
export class AdminStateUnavailableError extends GatewayError {
  readonly status = 503;
  readonly openaiType = 'service_unavailable_error' as const;
  constructor(cause: unknown) {
    super('The state backend is unavailable. Retry later.', { code: 'state_unavailable', retryAfterSeconds: 1, cause });
  }
}
