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

/**
 * Adds what the protos bundled in @grpc/grpc-js-xds 1.14.1 (Envoy API of 2024) lack for the
 * FULL_DUPLEX_STREAMED response body mode (Envoy ≥ 1.32), exactly as Envoy's API reference
 * documents them (envoy/extensions/filters/http/ext_proc/v3/processing_mode.proto and
 * envoy/service/ext_proc/v3/external_processor.proto):
 * - `ProcessingMode.BodySendMode.FULL_DUPLEX_STREAMED = 4`;
 * - `message StreamedBodyResponse { bytes body = 1; bool end_of_stream = 2; }`;
 * - `BodyMutation.streamed_response = 3` (a `StreamedBodyResponse`, in the `mutation` oneof).
 * Our own description of three definitions, not a copied file; a no-op once the bundled protos
 * have them. Used by src/exchange/router-processor.ts for streams with a stall timeout.
 */
export function addFullDuplexStreaming(root: protobuf.Root): void {
  const modes = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode');
  if (modes.values.FULL_DUPLEX_STREAMED === undefined) modes.add('FULL_DUPLEX_STREAMED', 4);
  const mutation = root.lookupType('envoy.service.ext_proc.v3.BodyMutation');
  if (mutation.fields.streamed_response !== undefined) return;
  const ns = root.lookup('envoy.service.ext_proc.v3') as protobuf.Namespace;
  if (!ns.get('StreamedBodyResponse')) {
    ns.add(new protobuf.Type('StreamedBodyResponse').add(new protobuf.Field('body', 1, 'bytes')).add(new protobuf.Field('end_of_stream', 2, 'bool')));
  }
  const field = new protobuf.Field('streamed_response', 3, 'StreamedBodyResponse');
  mutation.add(field);
  mutation.oneofs.mutation!.add(field);
  root.resolveAll();
}

const root = loadEnvoyProtos('envoy/service/ext_proc/v3/external_processor.proto');
addFullDuplexStreaming(root);

export const ProcessingRequestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
export const ProcessingResponseType = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
export const PROCESS_METHOD_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';
