import type { RuntimeProvider } from '../config/runtime.ts';
import type { UpstreamRequest } from '../dialects/dialect.ts';
import type { HeaderChanges } from '../extproc/messages.ts';
import type { Attempt, Exchange } from './exchange.ts';
import { providerHeaderChanges } from './forwarded-headers.ts';
import { PROVIDER_AUTH_HEADERS } from './internal-headers.ts';
import { tracing } from '../tracing/hooks.ts';

export interface PreparedAttempt {
  readonly headers: HeaderChanges;
  /** Bytes to replace the body with, or undefined when the caller's body goes as it is. */
  readonly body: Uint8Array | undefined;
}

/**
 * Records attempt `attemptNumber` (1-based) of `ex` on its target `targetIndex` and returns the
 * request changes that send it to that provider: path, content-length, the dialect's headers,
 * the provider's auth. Used by the router-level filter for the first attempt and by the
 * upstream filter for every retry, so that both translate the same way.
 */
export function prepareAttempt(ex: Exchange, provider: RuntimeProvider, targetIndex: number, attemptNumber: number): PreparedAttempt {
  const target = ex.model!.targets[targetIndex]!;
  // Recorded once per attempt number: with an envoy.yaml that runs the upstream filter on the
  // first attempt too, that attempt is prepared twice, identically, and counted once.
  const record: Attempt = { provider, providerModel: target.model, number: attemptNumber, key: target.key, startedAtMs: performance.now() };
  const same = ex.attempts.findIndex((a) => a.number === attemptNumber);
  if (same === -1) ex.attempts.push(record);
  else ex.attempts[same] = record;
  tracing().attemptStarted(ex, record);
  const translated: UpstreamRequest = ex.translationFor(targetIndex);
  // content-length always: Envoy shares one header map between attempts, so a previous attempt
  // may have left its own translated length there.
  const set: Record<string, string> = {
    ':path': provider.basePath + translated.path,
    'content-length': String(translated.bodyUnchanged ? ex.requestBodyLength : translated.body.length),
    ...translated.headers,
    ...provider.authHeaders,
  };
  // Caller headers this provider's `forwardHeaders` accepts (forwarded-headers.ts): set for this
  // attempt only, and removed again when a retry goes to a provider that does not accept them.
  const forwarded = providerHeaderChanges(ex.providerHeaders, provider, translated.headers);
  Object.assign(set, forwarded.set);
  // Another provider's auth from a previous attempt goes; removal must not depend on whether
  // Envoy applies removes before or after sets.
  const remove = [...PROVIDER_AUTH_HEADERS, ...forwarded.remove].filter((name) => !(name in set));
  return { headers: { set, remove }, body: translated.bodyUnchanged ? undefined : translated.body };
}
