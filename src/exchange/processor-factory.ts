import type { Metadata } from '@grpc/grpc-js';
import type { ConfigStore } from '../config/store.ts';
import type { StreamProcessor } from '../extproc/server.ts';
import type { ExchangeSinks } from './finish.ts';
import type { ExchangeRegistry } from './registry.ts';
import { RouterProcessor } from './router-processor.ts';
import { UpstreamProcessor } from './upstream-processor.ts';
import type { StateKeyDirectory } from '../policy/state-keys.ts';

/** gRPC initial metadata keys that envoy.yaml sets on each ext_proc filter's grpc_service. */
export const FILTER_METADATA_KEY = 'x-llmx-filter';
export const CLUSTER_METADATA_KEY = 'x-llmx-cluster';

/** Chooses the processor for a new ext_proc stream from the filter position it comes from. */
/** `stateKeys`: admin-created keys (src/policy/state-keys.ts), consulted after gateway.yaml's. */
export function createProcessorFactory(
  configs: ConfigStore,
  registry: ExchangeRegistry,
  sinks: ExchangeSinks,
  stateKeys?: StateKeyDirectory,
): (md: Metadata) => StreamProcessor {
  return (md) => {
    const position = md.get(FILTER_METADATA_KEY)[0];
    if (position === 'upstream') {
      const cluster = md.get(CLUSTER_METADATA_KEY)[0];
      if (typeof cluster !== 'string' || cluster === '') throw new Error(`upstream ext_proc stream without ${CLUSTER_METADATA_KEY} metadata`);
      return new UpstreamProcessor(cluster, registry, sinks);
    }
    if (position === 'router' || position === undefined) return new RouterProcessor(configs, registry, sinks, undefined, stateKeys);
    throw new Error(`unknown ${FILTER_METADATA_KEY} "${String(position)}"`);
  };
}
