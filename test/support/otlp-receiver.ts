import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

/** One span as the receiver got it: ids in lower-case hex, attributes as plain values. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | Array<string | number | boolean>>;
}

/**
 * The part of OTLP's ExportTraceServiceRequest a test reads, declared from the field numbers of
 * the OTLP specification (opentelemetry-proto, opentelemetry/proto/{collector/trace,trace,common,
 * resource}/v1): no .proto file ships with the exporter packages (they serialize by hand), and
 * unknown fields are skipped by the decoder.
 */
const root = protobuf.Root.fromJSON({
  nested: {
    Export: { fields: { resourceSpans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } } },
    ResourceSpans: { fields: { resource: { type: 'Resource', id: 1 }, scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 } } },
    Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
    ScopeSpans: { fields: { spans: { rule: 'repeated', type: 'Span', id: 2 } } },
    Span: {
      fields: {
        traceId: { type: 'bytes', id: 1 },
        spanId: { type: 'bytes', id: 2 },
        parentSpanId: { type: 'bytes', id: 4 },
        name: { type: 'string', id: 5 },
        kind: { type: 'int32', id: 6 },
        attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
      },
    },
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
    AnyValue: {
      oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue'] } },
      fields: {
        stringValue: { type: 'string', id: 1 },
        boolValue: { type: 'bool', id: 2 },
        intValue: { type: 'int64', id: 3 },
        doubleValue: { type: 'double', id: 4 },
        arrayValue: { type: 'ArrayValue', id: 5 },
      },
    },
    ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
  },
});
const ExportRequest = root.lookupType('Export');

type Any = { stringValue?: string; boolValue?: boolean; intValue?: number | string; doubleValue?: number; arrayValue?: { values?: Any[] } };
type Scalar = string | number | boolean;

function valueOf(v: Any | undefined): Scalar | Scalar[] {
  if (!v) return '';
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => valueOf(x) as Scalar);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.doubleValue ?? '';
}

function attributes(kvs: Array<{ key: string; value?: Any }> | undefined): ReceivedSpan['attributes'] {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

export interface OtlpReceiver {
  /** host:port the receiver listens on (loopback). */
  readonly endpoint: string;
  readonly port: number;
  /** Every span received so far, in arrival order. */
  readonly spans: ReceivedSpan[];
  stop(): Promise<void>;
}

/** An OTLP/gRPC trace receiver (TraceService/Export) on a free loopback port, for tests. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = new grpc.Server();
  const definition: grpc.ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      // ExportTraceServiceResponse with no partial_success: the empty message.
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(definition, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      const req = ExportRequest.toObject(ExportRequest.decode(call.request), { longs: Number, defaults: false }) as {
        resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value?: Any }> }; scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }>;
      };
      for (const rs of req.resourceSpans ?? []) {
        const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              traceId: hex(s['traceId'] as Uint8Array),
              spanId: hex(s['spanId'] as Uint8Array),
              parentSpanId: hex(s['parentSpanId'] as Uint8Array),
              name: String(s['name'] ?? ''),
              kind: Number(s['kind'] ?? 0),
              attributes: attributes(s['attributes'] as Array<{ key: string; value?: Any }>),
            });
          }
        }
      }
      done(null, Buffer.alloc(0));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    spans,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
