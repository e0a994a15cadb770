import { isIP } from 'node:net';
import type { ExtProcAttributes } from '../exchange/internal-headers.ts';

/** The Envoy attribute the router-level ext_proc asks for with the request headers (envoy.yaml: `request_attributes`). */
export const SOURCE_ADDRESS = 'source.address';
const EXT_PROC_ATTRIBUTES = 'envoy.filters.http.ext_proc';

/**
 * The caller's IP address for the request log (`client_address`, OpenTelemetry `client.address`),
 * from Envoy's `source.address` attribute: the downstream remote address as Envoy's HTTP
 * connection manager settled it (the TCP peer with `use_remote_address: true` and no trusted
 * hops; behind a load balancer, the x-forwarded-for entry `xff_num_trusted_hops` says to trust).
 * Never the caller's own x-forwarded-for or x-envoy-external-address headers: any caller can
 * write those. `ip:port` / `[ipv6]:port` → the IP; undefined when Envoy sent none (an Envoy
 * config without `request_attributes`) or it is not an IP (a pipe).
 */
export function clientAddressOf(attributes: ExtProcAttributes | undefined): string | undefined {
  const raw = attributes?.[EXT_PROC_ATTRIBUTES]?.fields?.[SOURCE_ADDRESS]?.stringValue;
  if (typeof raw !== 'string' || raw === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(raw);
  const ip = bracketed ? bracketed[1]! : raw.lastIndexOf(':') > raw.indexOf(':') ? raw : raw.replace(/:\d+$/, '');
  return isIP(ip) !== 0 ? ip : undefined;
}
