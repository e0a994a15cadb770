/**
 * OpenTelemetry tracing through the real Envoy: one trace from the caller's `traceparent`
 * through Envoy's spans (its OpenTelemetry tracer) and the ext_proc's (stream, phases, policy
 * steps, attempts), all received by a local OTLP/gRPC receiver; and with tracing off, nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/e2e.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';

const ENVOY = 'llm-gateway-envoy';
const EXTPROC = 'llm-extproc';

/** A caller's W3C trace context: a fresh trace id and parent span id, sampled. */
function callerContext(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/** The trace's spans once `ready` holds for them (the SDK and Envoy batch exports: up to ~6 s). */
async function spansOf(rx: OtlpReceiver, traceId: string, ready: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  for (let i = 0; i < 150; i++) {
    const spans = rx.spans.filter((s) => s.traceId === traceId);
    if (ready(spans)) return spans;
    await new Promise((r) => setTimeout(r, 100));
  }
  const got = rx.spans.filter((s) => s.traceId === traceId).map((s) => `${s.service}: ${s.name}`);
  throw new Error(`trace ${traceId} incomplete after 15 s; got: ${got.join(', ') || 'nothing'}`);
}

const one = (spans: ReceivedSpan[], service: string, name: string): ReceivedSpan => {
  const found = spans.filter((s) => s.service === service && s.name === name);
  assert.equal(found.length, 1, `one ${service} span "${name}" (have: ${spans.map((s) => s.name).join(', ')})`);
  return found[0]!;
};

describe('tracing on', () => {
  let rx: OtlpReceiver;
  let gw: TestStack;
  before(async () => {
    rx = await startOtlpReceiver();
    // Envoy's tracer (envoy.yaml's tracing section) and the ext_proc's SDK export to the same receiver.
    gw = await startTestStack({ otlpEndpoint: rx.endpoint, env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://${rx.endpoint}` } });
  });
  after(async () => {
    await gw?.dispose();
    await rx?.stop();
  });

  test('one trace id from the caller through Envoy and the ext_proc; the attempt span has the GenAI attributes', async () => {
    const caller = callerContext();
    const { data: answer, response } = await gw
      .client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] }, { headers: { traceparent: caller.traceparent } })
      .withResponse();
    assert.ok(answer.usage && answer.usage.prompt_tokens > 0 && answer.usage.completion_tokens > 0);

    const spans = await spansOf(rx, caller.traceId, (s) => s.some((x) => x.name === 'ingress') && s.some((x) => x.name === 'chat gpt-4o-mini') && s.some((x) => x.name === 'ext_proc router'));
    // Envoy continued the caller's trace: its request span is the caller span's child.
    const ingress = one(spans, ENVOY, 'ingress');
    assert.equal(ingress.parentSpanId, caller.spanId);
    // Envoy's ext_proc client span carried the context to the ext_proc (gRPC metadata traceparent).
    const egress = spans.filter((s) => s.service === ENVOY && s.name === 'async envoy.service.ext_proc.v3.ExternalProcessor.Process egress');
    assert.ok(egress.length >= 1, 'Envoy spans its ext_proc gRPC stream');
    assert.ok(egress.every((e) => e.parentSpanId === ingress.spanId));
    const router = one(spans, EXTPROC, 'ext_proc router');
    assert.ok(egress.some((e) => e.spanId === router.parentSpanId), 'the ext_proc stream span is the child of Envoy\'s');
    assert.equal(router.attributes['rpc.system'], 'grpc');

    // One span per phase of the stream; the policy steps under the request body's.
    const phases = ['request_headers', 'request_body', 'response_headers', 'response_body'].map((p) => one(spans, EXTPROC, `ext_proc ${p}`));
    for (const p of phases) assert.equal(p.parentSpanId, router.spanId);
    const policies = spans.filter((s) => s.service === EXTPROC && s.name.startsWith('policy '));
    assert.ok(policies.length >= 1, 'a span per policy step');
    for (const p of policies) {
      assert.equal(p.parentSpanId, phases[1]!.spanId);
      assert.equal(p.attributes['gateway.policy.verdict'], 'continue');
    }

    // The attempt: a GenAI client span (kind 3) under the stream, with the provider's counts.
    const attempt = one(spans, EXTPROC, 'chat gpt-4o-mini');
    assert.equal(attempt.kind, 3);
    assert.equal(attempt.parentSpanId, router.spanId);
    assert.deepEqual(
      {
        op: attempt.attributes['gen_ai.operation.name'],
        provider: attempt.attributes['gen_ai.provider.name'],
        requestModel: attempt.attributes['gen_ai.request.model'],
        responseModel: attempt.attributes['gen_ai.response.model'],
        input: attempt.attributes['gen_ai.usage.input_tokens'],
        output: attempt.attributes['gen_ai.usage.output_tokens'],
        finish: attempt.attributes['gen_ai.response.finish_reasons'],
        gatewayProvider: attempt.attributes['gateway.provider'],
      },
      {
        op: 'chat',
        provider: 'openai',
        requestModel: 'gpt-4o-mini',
        responseModel: 'gpt-4o-mini',
        input: answer.usage.prompt_tokens,
        output: answer.usage.completion_tokens,
        finish: [answer.choices[0]!.finish_reason],
        gatewayProvider: 'openai-primary',
      },
    );
    // The request's log line names the same trace.
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['trace_id'], caller.traceId);
  });

  test('a stream is one response_body span (not one per chunk), with its usage and finish reason', async () => {
    const caller = callerContext();
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    let finish: string | null | undefined;
    // Events 20 ms apart: Envoy hands them to the ext_proc as separate body chunks.
    gw.sims['anthropic']!.enqueueFault({ chunkDelayMs: 20 });
    const stream = await gw
      .client()
      .chat.completions.create(
        { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Count to five' }], stream: true, stream_options: { include_usage: true } },
        { headers: { traceparent: caller.traceparent } },
      );
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(usage && chunks > 2 && finish);
    const spans = await spansOf(rx, caller.traceId, (s) => s.some((x) => x.name === 'chat claude-sonnet-4-5' && x.attributes['gen_ai.usage.output_tokens'] !== undefined));
    const body = one(spans, EXTPROC, 'ext_proc response_body');
    assert.ok(Number(body.attributes['gateway.ext_proc.messages']) > 1, 'the chunks are counted on the one span');
    const attempt = one(spans, EXTPROC, 'chat claude-sonnet-4-5');
    assert.equal(attempt.attributes['gen_ai.provider.name'], 'anthropic');
    assert.equal(attempt.attributes['gen_ai.usage.input_tokens'], usage.prompt_tokens);
    assert.equal(attempt.attributes['gen_ai.usage.output_tokens'], usage.completion_tokens);
    assert.deepEqual(attempt.attributes['gen_ai.response.finish_reasons'], [finish]);
  });

  test('a failover: the retry\'s attempt span is under the upstream ext_proc stream, the first ends as retried', async () => {
    const caller = callerContext();
    gw.sims['openai-primary']!.enqueueFault({ status: 503 });
    const answer = await gw
      .client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi again' }] }, { headers: { traceparent: caller.traceparent } });
    const spans = await spansOf(rx, caller.traceId, (s) => s.filter((x) => x.name === 'chat gpt-4o-mini').length === 2 && s.some((x) => x.name === 'ext_proc upstream'));
    const [first, second] = ['1', '2'].map((n) => spans.find((s) => s.name === 'chat gpt-4o-mini' && String(s.attributes['gateway.attempt']) === n)!);
    assert.ok(first && second);
    assert.equal(first.attributes['gateway.provider'], 'openai-primary');
    assert.equal(first.attributes['error.type'], 'retried');
    assert.equal(second.attributes['gateway.provider'], 'openai-backup');
    assert.equal(second.attributes['gen_ai.usage.output_tokens'], answer.usage!.completion_tokens);
    const upstream = one(spans, EXTPROC, 'ext_proc upstream');
    assert.equal(upstream.attributes['gateway.cluster'], 'openai-backup');
    assert.equal(second.parentSpanId, upstream.spanId);
    // The upstream stream's parent is one of Envoy's spans of this trace.
    assert.ok(spans.some((s) => s.service === ENVOY && s.spanId === upstream.parentSpanId));
  });

  test('without a caller traceparent, Envoy starts the trace and the ext_proc joins it', async () => {
    const { response } = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'No trace here' }] }).withResponse();
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    const traceId = String(line['trace_id'] ?? '');
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const spans = await spansOf(rx, traceId, (s) => s.some((x) => x.name === 'ingress') && s.some((x) => x.name === 'ext_proc router'));
    assert.equal(one(spans, ENVOY, 'ingress').parentSpanId, '');
  });

  test('the receiver gone: requests are served as before (spans that cannot be exported are dropped)', async () => {
    await rx.stop();
    for (const stream of [false, true]) {
      const res = await gw.raw('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json', traceparent: callerContext().traceparent },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Still there?' }], stream }),
      });
      assert.equal(res.status, 200);
      assert.match(await res.text(), stream ? /data: \[DONE\]/ : /"choices"/);
    }
  });
});

describe('tracing off (the default)', () => {
  let gw: TestStack;
  before(async () => {
    gw = await startTestStack({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' } });
  });
  after(async () => {
    await gw?.dispose();
  });

  test('the request works, Envoy has no tracer, the ext_proc exports nothing and logs no trace id', async () => {
    const caller = callerContext();
    const { data, response } = await gw
      .client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }, { headers: { traceparent: caller.traceparent } })
      .withResponse();
    assert.ok(data.choices[0]?.message.content);
    const rendered = readFileSync(path.join(gw.runDir, 'envoy.rendered.yaml'), 'utf8');
    assert.doesNotMatch(rendered, /envoy\.tracers\.opentelemetry|otel_collector/);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['trace_id'], undefined);
    assert.ok(!gw.logLines().some((l) => l['msg'] === 'tracing on'), 'the SDK was not started');
  });
});

describe('the ext_proc traces, Envoy has no tracer (production.yaml without its tracing block)', () => {
  let rx: OtlpReceiver;
  let gw: TestStack;
  before(async () => {
    rx = await startOtlpReceiver();
    gw = await startTestStack({ otlpEndpoint: false, env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://${rx.endpoint}` } });
  });
  after(async () => {
    await gw?.dispose();
    await rx?.stop();
  });

  test('the caller\'s traceparent is continued from the request headers, and the log line names the caller\'s trace', async () => {
    const caller = callerContext();
    const { response } = await gw
      .client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }, { headers: { traceparent: caller.traceparent } })
      .withResponse();
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['trace_id'], caller.traceId);
    const spans = await spansOf(rx, caller.traceId, (s) => s.some((x) => x.name === 'ext_proc router') && s.some((x) => x.name === 'chat gpt-4o-mini'));
    assert.equal(one(spans, EXTPROC, 'ext_proc router').parentSpanId, caller.spanId);
    assert.ok(!rx.spans.some((s) => s.service === ENVOY), 'Envoy exported nothing');
  });
});
