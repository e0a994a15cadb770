/** Longest caller `x-request-id` kept for the log line; a UUID is 36, a W3C trace id 32. */
export const MAX_CLIENT_REQUEST_ID = 128;

/**
 * The caller's `x-request-id` as the log line may hold it (`client_request_id`): caller input,
 * so at most 128 characters of printable ASCII (anything else becomes `?`, so a value cannot
 * forge log structure or smuggle control characters into a terminal). Undefined when absent or
 * empty.
 */
export function clientRequestId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  return trimmed.slice(0, MAX_CLIENT_REQUEST_ID).replace(/[^\x20-\x7e]/g, '?');
}
