import { ENVOY_ROUTE_TIMEOUT_MS } from '../../upstream-timeouts.ts';
import { PROBE_HEADER, PROBE_TARGET_HEADER, type ProbeGate } from './probe-gate.ts';
import type { ProbesConfig } from './probes-schema.ts';
import type { ProbeOutcome, ProbeTarget, SendProbe } from './scheduler.ts';

/** The answer's code when a half-open target's one probe is held by a caller's request (router-processor.ts). */
export const PROBE_NOT_GRANTED_CODE = 'probe_not_granted';

/**
 * Sends probes as HTTP requests to the gateway's own Envoy listener (`listenerUrl`, e.g.
 * `http://127.0.0.1:8080`: $GATEWAY_PROBE_URL, set by `npm start`), never to a provider: Envoy
 * routes them like any request, and the router pins each to its target (probe-gate.ts). The
 * body is an OpenAI chat request for the target's model with the configured prompt and
 * `max_tokens`; a stream is read to its end. Bounded by envoy.yaml's route timeout.
 */
export function httpProbeSender(listenerUrl: string, gate: ProbeGate): SendProbe {
  const url = `${listenerUrl.replace(/\/+$/, '')}/v1/chat/completions`;
  return async (target: ProbeTarget, config: ProbesConfig, signal: AbortSignal): Promise<ProbeOutcome> => {
    const body = JSON.stringify({ model: target.model, messages: [{ role: 'user', content: config.prompt }], max_tokens: config.maxTokens, ...(config.stream ? { stream: true } : {}) });
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PROBE_HEADER]: gate.secret, [PROBE_TARGET_HEADER]: target.key },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(ENVOY_ROUTE_TIMEOUT_MS)]),
      });
    } catch {
      return 'unreachable';
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return config.stream && /"error"\s*:/.test(text) ? 'error' : 'ok';
    return res.status === 503 && text.includes(PROBE_NOT_GRANTED_CODE) ? 'not_granted' : 'error';
  };
}
