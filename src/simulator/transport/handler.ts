import { respondAll } from '../model/responder.ts';
import { isReply, type Provider } from '../providers/provider.ts';
import type { Reply } from '../reply.ts';
import type { Fault, ReceivedRequest } from '../types.ts';
import { isObject, parseJson, type JsonParse } from '../unknown.ts';
import { deliver, type Wait } from './deliver.ts';
import type { FaultSource } from './fault-source.ts';
import { flattenHeaders } from './headers.ts';
import { createOutlet, type SimRequest, type SimResponse } from './outlet.ts';
import { readBody } from './read-body.ts';

/** Anthropic's documented 32 MB request limit, applied to every format. */
const BODY_LIMIT = 32 * 1024 * 1024;
const MAX_RECORDED = 1000;
const EMPTY: JsonParse = { ok: false, message: 'empty body' };

/** What the per-request handler needs from its server. */
export interface HandlerContext {
  readonly provider: Provider;
  readonly faults: FaultSource;
  readonly apiKey: string | undefined;
  readonly requests: ReceivedRequest[] | undefined;
  readonly wait: Wait;
}

function replayReply(r: NonNullable<Fault['replay']>): Reply {
  return { kind: 'body', status: r.status, headers: { ...r.headers, 'content-type': r.contentType }, body: r.body };
}

function hintModel(route: string | undefined, body: JsonParse): string | undefined {
  if (route !== undefined) return route;
  return body.ok && isObject(body.value) && typeof body.value['model'] === 'string' ? body.value['model'] : undefined;
}

/** Everything known about a request once its body has arrived. */
interface Incoming {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** Undefined when the body exceeded the limit. */
  readonly text: string | undefined;
  readonly body: JsonParse;
}

function decide(ctx: HandlerContext, inc: Incoming, fault: Fault | undefined): Reply {
  const { method, url, headers, body } = inc;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const route = ctx.provider.route(method, path, q < 0 ? '' : url.slice(q + 1));
  if (fault?.status !== undefined && fault.status !== 200) {
    const streaming = route?.stream === true || (body.ok && isObject(body.value) && body.value['stream'] === true);
    return ctx.provider.error(fault.status, { retryAfter: fault.retryAfter, model: hintModel(route?.model, body), stream: streaming });
  }
  if (route === undefined) return ctx.provider.notFound(method, path);
  if (ctx.apiKey !== undefined) {
    const denied = ctx.provider.checkAuth(headers, ctx.apiKey);
    if (denied !== undefined) return denied;
  }
  if (inc.text === undefined) return ctx.provider.tooLarge();
  const parsed = ctx.provider.parse(body, route);
  if (isReply(parsed)) return parsed;
  return ctx.provider.render(respondAll(parsed.conv, fault?.chunks), parsed);
}

function record(list: ReceivedRequest[], inc: Incoming): void {
  const body = inc.body.ok ? inc.body.value : inc.text === '' ? undefined : inc.text;
  list.push({ method: inc.method, path: inc.url, headers: inc.headers, body, at: Date.now() });
  if (list.length > MAX_RECORDED) list.splice(0, list.length - MAX_RECORDED);
}

async function handle(ctx: HandlerContext, req: SimRequest, res: SimResponse): Promise<void> {
  const out = createOutlet(req, res);
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const headers = flattenHeaders(req.headers);
  const picked = ctx.faults.pick(headers['x-sim-fault']);
  try {
    const raw = await readBody(req, BODY_LIMIT);
    const text = raw?.toString('utf8');
    const inc: Incoming = { method, url, headers, text, body: text === undefined || text.length === 0 ? EMPTY : parseJson(text) };
    if (ctx.requests !== undefined) record(ctx.requests, inc);
    if ('invalid' in picked) {
      return await deliver(out, ctx.provider.error(400, { retryAfter: undefined, model: undefined, stream: false, message: picked.invalid }), undefined, ctx.wait);
    }
    const fault = picked.fault;
    const reply = fault?.replay !== undefined ? replayReply(fault.replay) : decide(ctx, inc, fault);
    await deliver(out, reply, fault, ctx.wait);
  } catch (err) {
    // Aborted waits (server closing) and client disconnects land here; anything else is a bug worth a 500.
    if (out.closed) return;
    if (out.headersSent || (err instanceof Error && err.name === 'AbortError')) return out.reset();
    out.head(500, { 'content-type': 'text/plain' });
    out.end(`simulator error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The request listener shared by the HTTP/1.1 and HTTP/2 servers. */
export function createHandler(ctx: HandlerContext): (req: SimRequest, res: SimResponse) => void {
  return (req, res) => {
    void handle(ctx, req, res);
  };
}
