import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ProcessingRequestType } from '../../src/extproc/protos.ts';
import type { ExtProcRequest } from '../../src/extproc/types.ts';
import { headersMessage, phaseMutation, syncReply } from '../support/unit/ext-proc.ts';
import { admit, attempt, chatBody, harness } from '../support/unit/gateway.ts';

const h = harness();
after(() => h.close());

/** A response_headers message with the response.code_details attribute envoy.yaml asks for, as it comes off the wire. */
function withDetails(msg: ExtProcRequest, details: string): ExtProcRequest {
  const attributes = { 'envoy.filters.http.ext_proc': { fields: { 'response.code_details': { stringValue: details } } } };
  const wire = ProcessingRequestType.encode(ProcessingRequestType.fromObject({ response_headers: {}, attributes })).finish();
  return Object.assign(msg, { attributes: (ProcessingRequestType.decode(wire) as unknown as { attributes: unknown }).attributes });
}

describe("replies Envoy makes itself reach the caller as Envoy wrote them", () => {
  test('a reply for a request whose headers the ext_proc never saw passes untouched: its status, an x-request-id, a log line, nothing internal', () => {
    for (const status of ['400', '403', '408', '426', '431', '501']) {
      const router = h.router();
      const msg = headersMessage('response_headers', { ':status': status, 'content-type': 'application/json', 'content-length': '120', 'x-llmx-local-reply': 'x', 'x-envoy-upstream-service-time': '1' });
      const res = syncReply(router.handle(withDetails(msg, 'missing_host_header')));
      assert.equal(res['immediate_response'], undefined, status);
      assert.equal(res['mode_override'], undefined, 'no body phase: the body is local_reply_config JSON');
      const hm = phaseMutation(res, 'response_headers');
      const id = hm.set['x-request-id'];
      assert.match(id ?? '', /^[0-9a-f-]{36}$/);
      assert.deepEqual(hm.remove.sort(), ['x-envoy-upstream-service-time', 'x-llmx-local-reply']);
      assert.ok(!hm.remove.includes('content-length') && !hm.remove.includes('content-type'));
      router.close('done');
      const line = h.lines().at(-1)!;
      assert.deepEqual([line['request_id'], line['status'], line['outcome']], [id, Number(status), 'rejected']);
    }
  });

  test("a 503 Envoy made after the plan (code details, no marker header) is not translated; the log has Envoy's status", () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini'));
    attempt(h, id, 'openai-primary', 1);
    const msg = headersMessage('response_headers', { ':status': '503', 'content-type': 'application/json', 'content-length': '140', 'retry-after': '1' });
    const res = syncReply(router.handle(withDetails(msg, 'upstream_reset_before_response_started{remote_reset}')));
    assert.equal(res['mode_override'], undefined);
    const hm = phaseMutation(res, 'response_headers');
    assert.equal(hm.set['x-request-id'], id);
    assert.ok(!hm.remove.includes('retry-after'));
    router.close('done');
    const line = h.lines().at(-1)!;
    assert.deepEqual([line['provider'], line['status'], line['outcome'], line['error_code']], ['envoy', 503, 'failed', 'upstream_unavailable']);
  });

  test('a provider answer (via_upstream) is translated even if it carries the old marker header', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini'));
    attempt(h, id, 'openai-primary', 1);
    const msg = headersMessage('response_headers', { ':status': '200', 'content-type': 'application/json', 'x-llmx-local-reply': 'forged' });
    const res = syncReply(router.handle(withDetails(msg, 'via_upstream')));
    assert.ok(res['mode_override'], 'the body is read and translated');
    assert.ok(phaseMutation(res, 'response_headers').remove.includes('x-llmx-local-reply'));
    router.close('cancelled');
  });
});
