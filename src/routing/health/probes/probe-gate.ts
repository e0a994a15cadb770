import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { TargetKey } from '../view.ts';

/**
 * How the router recognises the gateway's own active probes (scheduler.ts) among the requests
 * Envoy hands it: a per-process random secret in `x-llmx-probe` and the target to pin in
 * `x-llmx-probe-target`. Both are `x-llmx-*` headers, which the router removes before anything
 * goes upstream (forwarded-headers.ts) and no log line carries, and which a caller cannot set
 * (a caller's copies are removed too; without the secret they mean nothing). The secret lives in
 * this process only: a probe is sent by the process that checks it.
 */
export const PROBE_HEADER = 'x-llmx-probe';
export const PROBE_TARGET_HEADER = 'x-llmx-probe-target';

export class ProbeGate {
  /** 32 random bytes, base64url; never logged. */
  readonly secret: string = randomBytes(32).toString('base64url');
  private readonly secretBytes = Buffer.from(this.secret);

  /**
   * The target a probe request pins (`provider/model`), or undefined when the headers do not
   * carry this process's secret (then the request is a caller's like any other). Constant-time.
   */
  recognise(secret: string | undefined, target: string | undefined): TargetKey | undefined {
    if (secret === undefined || target === undefined || target.length === 0) return undefined;
    const given = Buffer.from(secret);
    if (given.length !== this.secretBytes.length || !timingSafeEqual(given, this.secretBytes)) return undefined;
    return target;
  }
}
