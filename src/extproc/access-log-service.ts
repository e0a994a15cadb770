import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { loadEnvoyProtos } from './protos.ts';
import type { UpstreamAttemptEntry } from '../routing/health/attempt-log.ts';

/**
 * Envoy's gRPC access log service (ALS, `envoy.service.accesslog.v3.AccessLogService`), served
 * next to the ext_proc on the same gRPC server. Two of envoy.yaml's loggers send here, told
 * apart by their `log_name` (sent in the first message of each stream; an entry's
 * `access_log_type` backs it up):
 * - `llm_envoy_replies`, the HCM `access_log`: the entries of replies the ext_proc cannot see
 *   itself: Envoy's own replies (a 503/504 after a provider's 200 head, requests refused while
 *   Envoy read them) and streams cut by a reset or timeout → `onReply` (EnvoyReply);
 * - `llm_upstream_attempts`, the router's `upstream_log`: one entry per failed upstream attempt
 *   (status ≥ 300 or a response flag), retried ones included → `onAttempt`
 *   (src/routing/health/attempt-log.ts), which feeds target health.
 * Source of the shapes: envoy/service/accesslog/v3/als.proto and envoy/data/accesslog/v3/accesslog.proto.
 */

const root = loadEnvoyProtos('envoy/service/accesslog/v3/als.proto');
const MessageType = root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
const ResponseType = root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsResponse');
const RequestMethod = root.lookupEnum('envoy.config.core.v3.RequestMethod');
const ALS_METHOD_PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';
const UPSTREAM_END = root.lookupEnum('envoy.data.accesslog.v3.AccessLogType').values['UpstreamEnd']!;

/** envoy.yaml's `log_name` of the router's upstream_log (failed upstream attempts). */
export const UPSTREAM_ATTEMPTS_LOG_NAME = 'llm_upstream_attempts';

/** One reply Envoy logged, reduced to what the request log needs. */
export interface EnvoyReply {
  /** x-request-id of the reply the caller got (the gateway's id, or the local reply mapper's); undefined when none. */
  responseRequestId: string | undefined;
  /** x-request-id of the request as Envoy held it at the end (the gateway's id once the ext_proc accepted it, else the caller's). */
  requestRequestId: string | undefined;
  /** HTTP status sent to the caller; 0 when none was sent (the caller left first). */
  status: number;
  /** Envoy's response flags by their short names (`UC`, `UT`, `DC`, `URX`, …), as in `%RESPONSE_FLAGS%`. */
  flags: string[];
  /** `%RESPONSE_CODE_DETAILS%`, e.g. `upstream_reset_after_response_started{remote_reset}`; '' when none. */
  codeDetails: string;
  method: string;
  path: string;
}

/**
 * accesslog.proto's ResponseFlags booleans → Envoy's short names (Envoy's
 * `StreamInfo::ResponseFlagUtils`, the names `%RESPONSE_FLAGS%` prints).
 */
const FLAG_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['failed_local_healthcheck', 'LH'],
  ['no_healthy_upstream', 'UH'],
  ['upstream_request_timeout', 'UT'],
  ['local_reset', 'LR'],
  ['upstream_remote_reset', 'UR'],
  ['upstream_connection_failure', 'UF'],
  ['upstream_connection_termination', 'UC'],
  ['upstream_overflow', 'UO'],
  ['no_route_found', 'NR'],
  ['delay_injected', 'DI'],
  ['fault_injected', 'FI'],
  ['rate_limited', 'RL'],
  ['unauthorized_details', 'UAEX'],
  ['rate_limit_service_error', 'RLSE'],
  ['downstream_connection_termination', 'DC'],
  ['upstream_retry_limit_exceeded', 'URX'],
  ['stream_idle_timeout', 'SI'],
  ['invalid_envoy_request_headers', 'IH'],
  ['downstream_protocol_error', 'DPE'],
  ['upstream_max_stream_duration_reached', 'UMSDR'],
  ['response_from_cache_filter', 'RFCF'],
  ['no_filter_config_found', 'NFCF'],
  ['duration_timeout', 'DT'],
  ['upstream_protocol_error', 'UPE'],
  ['no_cluster_found', 'NC'],
  ['overload_manager', 'OM'],
  ['dns_resolution_failure', 'DF'],
  ['downstream_remote_reset', 'DR'],
];

type Dict = Record<string, unknown>;

function obj(v: unknown): Dict | undefined {
  return typeof v === 'object' && v !== null ? (v as Dict) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** accesslog.proto's ResponseFlags message → Envoy's short names. */
function flagNames(flagsMsg: Dict): string[] {
  return FLAG_NAMES.filter(([field]) => {
    const v = flagsMsg[field];
    return v === true || (field === 'unauthorized_details' && obj(v) !== undefined);
  }).map(([, name]) => name);
}

/** A protobuf int64 as decoded (number, or a Long with toNumber()) → number; 0 when absent. */
function int64(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  const toNumber = obj(v)?.['toNumber'];
  return typeof toNumber === 'function' ? (toNumber as () => number).call(v) : 0;
}

/** google.protobuf.Duration or Timestamp → ms; undefined when absent. */
function protoMs(v: unknown): number | undefined {
  const d = obj(v);
  if (d === undefined) return undefined;
  return int64(d['seconds']) * 1000 + int64(d['nanos']) / 1e6;
}

/** Whether a decoded entry is a router upstream_log entry (`access_log_type` UpstreamEnd). */
export function isUpstreamEntry(entry: unknown): boolean {
  return obj(obj(entry)?.['common_properties'])?.['access_log_type'] === UPSTREAM_END;
}

/** One decoded upstream_log entry (one upstream attempt) → UpstreamAttemptEntry. */
export function toUpstreamAttempt(entry: unknown): UpstreamAttemptEntry {
  const e = obj(entry) ?? {};
  const common = obj(e['common_properties']) ?? {};
  const request = obj(e['request']) ?? {};
  const response = obj(e['response']) ?? {};
  const reqHeaders = obj(request['request_headers']) ?? {};
  const resHeaders = obj(response['response_headers']) ?? {};
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(resHeaders)) if (typeof v === 'string' && v !== '') headers[name] = v;
  const code = obj(response['response_code'])?.['value'];
  const attempt = Number(str(reqHeaders['x-envoy-attempt-count']));
  return {
    requestId: str(reqHeaders['x-request-id']) ?? str(request['request_id']),
    // Envoy leaves the entry's own attempt count out (0) in upstream entries: the header has it.
    attemptNumber: Number.isInteger(attempt) && attempt > 0 ? attempt : undefined,
    cluster: str(common['upstream_cluster']) ?? '',
    status: typeof code === 'number' ? code : 0,
    flags: flagNames(obj(common['response_flags']) ?? {}),
    startMs: protoMs(common['start_time']),
    durationMs: protoMs(common['duration']),
    headers,
  };
}

/** One decoded HTTPAccessLogEntry (protobufjs message, snake_case fields) → EnvoyReply. */
export function toEnvoyReply(entry: unknown): EnvoyReply {
  const e = obj(entry) ?? {};
  const common = obj(e['common_properties']) ?? {};
  const request = obj(e['request']) ?? {};
  const response = obj(e['response']) ?? {};
  const flags = flagNames(obj(common['response_flags']) ?? {});
  const reqHeaders = obj(request['request_headers']) ?? {};
  const resHeaders = obj(response['response_headers']) ?? {};
  const code = obj(response['response_code'])?.['value'];
  const method = request['request_method'];
  return {
    responseRequestId: str(resHeaders['x-request-id']),
    requestRequestId: str(reqHeaders['x-request-id']) ?? str(request['request_id']),
    status: typeof code === 'number' ? code : 0,
    flags,
    codeDetails: str(response['response_code_details']) ?? '',
    method: typeof method === 'number' && method !== 0 ? (RequestMethod.valuesById[method] ?? '') : '',
    path: str(request['path']) ?? '',
  };
}

export interface AccessLogServiceOptions {
  /** Receives each HCM entry (`llm_envoy_replies`), in order. A throw is caught and reported to onError. */
  onReply(reply: EnvoyReply): void;
  /** Receives each upstream_log entry (`llm_upstream_attempts`); without it they are dropped. A throw is caught and reported to onError. */
  onAttempt?(attempt: UpstreamAttemptEntry): void;
  onError?(err: unknown): void;
}

/**
 * The ALS as a grpc-js service (client-streaming: Envoy keeps one stream open per logger and
 * thread and sends batches). A message that fails to decode is dropped, never thrown into
 * gRPC (that would end Envoy's stream and lose the entries after it). `endStreams()` answers
 * every open stream so that a graceful server shutdown need not wait for Envoy.
 */
export class AccessLogService {
  private readonly open = new Set<() => void>();

  constructor(private readonly opts: AccessLogServiceOptions) {}

  readonly definition: grpc.ServiceDefinition = {
    StreamAccessLogs: {
      path: ALS_METHOD_PATH,
      requestStream: true,
      responseStream: false,
      requestSerialize: (v: unknown) => Buffer.from(MessageType.encode(v as object).finish()),
      requestDeserialize: (b: Buffer): protobuf.Message | undefined => {
        try {
          return MessageType.decode(b);
        } catch (err) {
          this.opts.onError?.(err);
          return undefined;
        }
      },
      responseSerialize: (v: unknown) => Buffer.from(ResponseType.encode(v as object).finish()),
      responseDeserialize: (b: Buffer) => ResponseType.decode(b),
    },
  };

  readonly implementation: grpc.UntypedServiceImplementation = {
    StreamAccessLogs: (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => this.serve(call, callback),
  };

  /** Ends every open stream with OK (Envoy reopens one on its next entry). */
  endStreams(): void {
    for (const end of [...this.open]) end();
  }

  private serve(call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.open.delete(end);
      callback(null, {});
    };
    this.open.add(end);
    // The stream's logger: only its first message carries the identifier.
    let logName: string | undefined;
    call.on('data', (msg: unknown) => {
      logName ??= str(obj(obj(msg)?.['identifier'])?.['log_name']);
      this.onMessage(msg, logName);
    });
    call.on('end', end);
    const drop = (): void => {
      ended = true;
      this.open.delete(end);
    };
    call.on('cancelled', drop);
    call.on('error', drop);
  }

  private onMessage(msg: unknown, logName: string | undefined): void {
    const entries = obj(obj(msg)?.['http_logs'])?.['log_entry'];
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      try {
        if (logName === UPSTREAM_ATTEMPTS_LOG_NAME || isUpstreamEntry(entry)) this.opts.onAttempt?.(toUpstreamAttempt(entry));
        else this.opts.onReply(toEnvoyReply(entry));
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }
}
