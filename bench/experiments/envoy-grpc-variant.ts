/**
 * Writes a variant of envoy/envoy.yaml whose ext_proc filters use Envoy's `envoy_grpc` client
 * (an HTTP/2 cluster `llm_extproc` to the ext_proc's TCP port) instead of `google_grpc`, the
 * graceful close left as shipped. For measuring what Envoy's gRPC client costs (docs/benchmark.md,
 * *The tail*); NOT for use: with the graceful close on, Envoy 1.40 crashes on ext_proc streams
 * older than ~50 s (docs/envoy-crash-1.40.md). Needs the bench's TCP transport (no --extproc-uds):
 * the cluster reads {{EXTPROC_HOST}} and {{EXTPROC_PORT}}.
 *
 *   node --import tsx bench/experiments/envoy-grpc-variant.ts /tmp/envoy-grpc.yaml
 *   npm run bench -- --paths bare-openai,gateway-openai --profiles instant --gateway-envoy-config /tmp/envoy-grpc.yaml
 *
 * Throws when envoy.yaml no longer has the shape it rewrites (the anchor of the shared
 * `google_grpc` block, its `timeout`, the `clusters:` key).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const out = process.argv[2];
if (!out) throw new Error('usage: envoy-grpc-variant.ts OUTPUT.yaml');
let s = readFileSync(path.join(ROOT, 'envoy/envoy.yaml'), 'utf8');
const anchor = /^( +)google_grpc: &extproc_grpc\n[\s\S]*?^(?=\1timeout: )/m;
if (!anchor.test(s)) throw new Error('envoy/envoy.yaml: no `google_grpc: &extproc_grpc` block followed by `timeout:` to rewrite');
s = s.replace(anchor, (_m, indent: string) => `${indent}envoy_grpc: &extproc_grpc { cluster_name: llm_extproc }\n`);
s = s.replaceAll('google_grpc: *extproc_grpc', 'envoy_grpc: *extproc_grpc');
const cluster = `  - name: llm_extproc
    type: STATIC
    connect_timeout: 1s
    circuit_breakers: { thresholds: [{ priority: DEFAULT, max_connections: 1000000, max_pending_requests: 1000000, max_requests: 1000000, max_retries: 1000000 }] }
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100000, connection_keepalive: { interval: 30s, timeout: 5s } } }
    load_assignment:
      cluster_name: llm_extproc
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "{{EXTPROC_HOST}}", port_value: {{EXTPROC_PORT}} } } } }] }]
`;
if (!s.includes('\n  clusters:\n')) throw new Error('envoy/envoy.yaml: no top-level `clusters:` list');
s = s.replace('\n  clusters:\n', `\n  clusters:\n${cluster}`);
writeFileSync(out, s);
process.stdout.write(`wrote ${out}\n`);
