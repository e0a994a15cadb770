/**
 * The gateway's error catalogue. Every failure the gateway reports is one of these, so
 * that one mapper (to-openai.ts) decides what a caller sees: status, type, code, param.
 * `message` is caller-safe by construction; `cause` is for logs only and is never sent.
 */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  // OpenAI's own 429 for its rate limits names the unit (shared/wire/openai/error_rate_limit.json).
  | 'requests'
  | 'tokens'
  | 'insufficient_quota'
  | 'server_error'
  | 'api_error'
  | 'service_unavailable_error'
  | 'timeout_error';

export interface GatewayErrorOptions {
  param?: string | null;
  code?: string | null;
  cause?: unknown;
  /** Seconds a client should wait before retrying (429/503). */
  retryAfterSeconds?: number;
  /** More response headers the error carries to the caller (e.g. a 429's `x-ratelimit-*`). */
  headers?: Readonly<Record<string, string>>;
}

export abstract class GatewayError extends Error {
  abstract readonly status: number;
  abstract readonly openaiType: OpenAIErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers;
  }
}

export class InvalidRequestError extends GatewayError {
  readonly status: number = 400;
  readonly openaiType = 'invalid_request_error' as const;
}

export class PayloadTooLargeError extends InvalidRequestError {
  override readonly status = 413;
}

export class UnsupportedMediaTypeError extends InvalidRequestError {
  override readonly status = 415;
}

export class AuthError extends GatewayError {
  readonly status = 401;
  readonly openaiType = 'invalid_request_error' as const; // what OpenAI itself sends for a bad key
}

export class PermissionError extends GatewayError {
  readonly status = 403;
  readonly openaiType = 'permission_error' as const;
}

export class NotFoundError extends GatewayError {
  readonly status = 404;
  readonly openaiType = 'invalid_request_error' as const;
}

export class MethodNotAllowedError extends GatewayError {
  readonly status = 405;
  readonly openaiType = 'invalid_request_error' as const;
}

export class RateLimitError extends GatewayError {
  readonly status = 429;
  readonly openaiType = 'rate_limit_error' as const;
}

/** An error a provider answered with, already translated to caller-safe text. */
export class UpstreamError extends GatewayError {
  readonly status: number;
  readonly openaiType: OpenAIErrorType;
  constructor(status: number, openaiType: OpenAIErrorType, message: string, options: GatewayErrorOptions = {}) {
    super(message, options);
    this.status = status;
    this.openaiType = openaiType;
  }
}

export class InternalError extends GatewayError {
  readonly status = 500;
  readonly openaiType = 'server_error' as const;
}

/** Wraps anything thrown that is not already a GatewayError; the original goes to `cause`. */
export function asGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new InternalError('The gateway failed to process the request.', { cause: err, code: 'internal_error' });
}
