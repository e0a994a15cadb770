import type { Registry } from 'prom-client';
import type { DialectId } from '../dialects/dialect.ts';
import { SeriesHistogram, type HistogramSeries } from './series-histogram.ts';

/**
 * The OpenTelemetry GenAI semantic-convention metrics, Prometheus-named
 * (https://github.com/open-telemetry/semantic-conventions-genai, docs/gen-ai/gen-ai-metrics.md,
 * status Development): `gen_ai.client.token.usage` → `gen_ai_client_token_usage`,
 * `gen_ai.server.request.duration` → `gen_ai_server_request_duration_seconds`, … The names follow
 * OpenTelemetry's Prometheus compatibility rules (dots become underscores, unit `s` adds
 * `_seconds`, an annotation unit like `{token}` adds nothing), so they match what an OTel SDK's
 * Prometheus exporter or the Collector would write for the same instruments; the attributes become
 * the labels `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model`,
 * `gen_ai_response_model`, `gen_ai_token_type`, `error_type`. Buckets are the conventions'
 * advisory explicit bucket boundaries.
 */

/** `gen_ai.client.token.usage`, tokens. */
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** `gen_ai.server.request.duration` (and `gen_ai.client.operation.duration`), seconds. */
export const REQUEST_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** `gen_ai.server.time_to_first_token`, seconds. */
export const TIME_TO_FIRST_TOKEN_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
/** `gen_ai.server.time_per_output_token`, seconds. */
export const TIME_PER_OUTPUT_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];

/**
 * `gen_ai.provider.name` for a provider's wire format: the conventions' well-known values
 * (`openai`, `anthropic`, `gcp.gemini` for the generativelanguage.googleapis.com API). An
 * OpenAI-compatible provider that is not OpenAI (DeepSeek, a local server) is reported as
 * `openai`, the flavour of its telemetry; the `provider` label carries gateway.yaml's name.
 */
export const GEN_AI_PROVIDER_NAME: Readonly<Record<DialectId, string>> = Object.freeze({
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
});

/** The only operation the gateway serves: `/v1/chat/completions`. */
export const GEN_AI_OPERATION_CHAT = 'chat';

type BaseLabels = Readonly<Record<'gen_ai_operation_name' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_response_model' | 'provider', string>>;

/** The series of one public model served by one target, created as first observed. */
export class GenAiTargetSeries {
  private readonly durations = new Map<string, HistogramSeries>();
  private inputTokens: HistogramSeries | undefined;
  private outputTokens: HistogramSeries | undefined;
  private ttft: HistogramSeries | undefined;
  private tpot: HistogramSeries | undefined;

  constructor(
    private readonly m: GenAiMetrics,
    private readonly key: string,
    readonly labels: BaseLabels,
  ) {}

  /** `errorType`: "" for a completed request, else its HTTP status or `aborted` (bounded). */
  duration(errorType: string): HistogramSeries {
    let s = this.durations.get(errorType);
    if (s === undefined) {
      s = this.m.requestDuration.series(`${this.key}\0${errorType}`, { ...this.labels, error_type: errorType });
      this.durations.set(errorType, s);
    }
    return s;
  }

  tokens(type: 'input' | 'output'): HistogramSeries {
    if (type === 'input') return (this.inputTokens ??= this.m.tokenUsage.series(`${this.key}\0input`, { ...this.labels, gen_ai_token_type: 'input' }));
    return (this.outputTokens ??= this.m.tokenUsage.series(`${this.key}\0output`, { ...this.labels, gen_ai_token_type: 'output' }));
  }

  timeToFirstToken(): HistogramSeries {
    return (this.ttft ??= this.m.timeToFirstToken.series(this.key, this.labels));
  }

  timePerOutputToken(): HistogramSeries {
    return (this.tpot ??= this.m.timePerOutputToken.series(this.key, this.labels));
  }
}

/**
 * The four histograms (SeriesHistogram: the label sets are resolved once per model and target,
 * not hashed per observation). Labels: `gen_ai_request_model` is the public model (or alias) the
 * caller asked for, `gen_ai_response_model` the provider's model of the target that answered
 * (both from gateway.yaml, never the provider's free-text `model` field, so the series stay
 * bounded), and `provider` gateway.yaml's provider name (e.g. `openai-backup`), which the
 * conventions have no attribute for.
 */
export class GenAiMetrics {
  readonly tokenUsage: SeriesHistogram;
  readonly requestDuration: SeriesHistogram;
  readonly timeToFirstToken: SeriesHistogram;
  readonly timePerOutputToken: SeriesHistogram;
  /** public model → `<provider>/<provider model>` → its series; bounded by gateway.yaml. */
  private readonly byModel = new Map<string, Map<string, GenAiTargetSeries>>();

  constructor(registry: Registry) {
    this.tokenUsage = new SeriesHistogram(
      'gen_ai_client_token_usage',
      'OTel gen_ai.client.token.usage: tokens per request billed by the provider that answered ({token}), by gen_ai_token_type (input, output); estimates where a cut stream had no count (as gateway_tokens_total).',
      TOKEN_USAGE_BUCKETS,
      registry,
    );
    this.requestDuration = new SeriesHistogram(
      'gen_ai_server_request_duration_seconds',
      'OTel gen_ai.server.request.duration: seconds from the request headers to the end of the response, as the gateway serves it (failovers included); error_type is the HTTP status of a failed request, "aborted" for one cut short, "" when it completed.',
      REQUEST_DURATION_BUCKETS,
      registry,
    );
    this.timeToFirstToken = new SeriesHistogram(
      'gen_ai_server_time_to_first_token_seconds',
      'OTel gen_ai.server.time_to_first_token: seconds from the answering attempt being sent to its first streamed chunk forwarded to the caller; completed streams only.',
      TIME_TO_FIRST_TOKEN_BUCKETS,
      registry,
    );
    this.timePerOutputToken = new SeriesHistogram(
      'gen_ai_server_time_per_output_token_seconds',
      'OTel gen_ai.server.time_per_output_token: seconds per output token after the first, (end − first chunk) / (output tokens − 1); completed streams with at least 2 output tokens.',
      TIME_PER_OUTPUT_TOKEN_BUCKETS,
      registry,
    );
  }

  /** The series of `model` served by `provider`'s `providerModel` (`targetKey` = `<provider>/<provider model>`). */
  forTarget(model: string, targetKey: string, provider: { readonly name: string; readonly dialect: { readonly id: DialectId } }, providerModel: string): GenAiTargetSeries {
    let targets = this.byModel.get(model);
    if (targets === undefined) {
      targets = new Map();
      this.byModel.set(model, targets);
    }
    let t = targets.get(targetKey);
    if (t === undefined) {
      t = new GenAiTargetSeries(this, `${model}\0${targetKey}`, {
        gen_ai_operation_name: GEN_AI_OPERATION_CHAT,
        gen_ai_provider_name: GEN_AI_PROVIDER_NAME[provider.dialect.id],
        gen_ai_request_model: model,
        gen_ai_response_model: providerModel,
        provider: provider.name,
      });
      targets.set(targetKey, t);
    }
    return t;
  }
}
