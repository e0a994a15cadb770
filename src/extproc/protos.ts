import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';

/**
 * Envoy's ext_proc protos, loaded from the copy that ships inside `@grpc/grpc-js-xds`
 * (deps/envoy-api, deps/xds, deps/googleapis, deps/protoc-gen-validate) rather than
 * vendored here. protobufjs is used directly (not @grpc/proto-loader's object conversion)
 * because decode/encode of message instances is several times cheaper on the hot path.
 */
const require = createRequire(import.meta.url);
const xdsRoot = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
const protobufjsRoot = path.dirname(require.resolve('protobufjs/package.json'));
const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(xdsRoot, 'deps', d));

/** Loads Envoy API protos (and their imports) from @grpc/grpc-js-xds's deps into a fresh root. */
export function loadEnvoyProtos(...files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    // protobufjs bundles the well-known types under these exact names, and ships descriptor.proto.
    if (target.startsWith('google/protobuf/')) {
      return target in protobuf.common ? target : path.join(protobufjsRoot, target);
    }
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    throw new Error(`ext_proc proto import not found in @grpc/grpc-js-xds deps: ${target}`);
  };
  for (const file of files) root.loadSync(file, { keepCase: true });
  root.resolveAll();
  return root;
}

const root = loadEnvoyProtos('envoy/service/ext_proc/v3/external_processor.proto');

export const ProcessingRequestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
export const ProcessingResponseType = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
export const PROCESS_METHOD_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';
