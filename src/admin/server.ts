import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { asGatewayError, InvalidRequestError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors/gateway-error.ts';
import { toOpenAIError } from '../errors/to-openai.ts';
import { checkAdminKey } from './admin-auth.ts';
import type { AdminKeys } from './key-service.ts';
import { explainRouting, type RoutingExplainerOptions } from './routing-explain.ts';
import { readSpend, type SpendHistoryApiOptions } from './spend-history.ts';
import { estimateCosts, type CostEstimatorOptions } from './cost-estimate.ts';
import { priceTable, type PriceTableOptions } from './price-table.ts';
import { dashboardData, type DashboardDataOptions } from './dashboard/data.ts';
import { DASHBOARD_HEADERS, dashboardAsset } from './dashboard/assets.ts';
import { AdminStateUnavailableError, KeyStoreUnavailableError } from './errors.ts';
import { StateUnavailableError } from '../state/errors.ts';
import { OutageLog, type OutageLogger } from '../policy/outage-log.ts';

/** Largest admin request body (a key's settings are well under 1 KB). */
const MAX_BODY_BYTES = 64 * 1024;
const KEYS_PATH = '/admin/keys';
const EXPLAIN_PATH = '/admin/routing/explain';
const SPEND_PATH = '/admin/spend';
const ESTIMATE_PATH = '/admin/costs/estimate';
const PRICES_PATH = '/admin/prices';
const DASHBOARD_PATH = '/admin/dashboard';
const DASHBOARD_DATA_PATH = '/admin/dashboard/data';

export interface AdminApiOptions {
  readonly keys: AdminKeys;
  /** SHA-256 (hex) of the admin key in force (read per request: a config reload rotates it). */
  readonly adminKeySha256: () => string | undefined;
  /** One line per change (create, update, revoke) and per refused or failed request; never a secret. */
  readonly audit?: (fields: Record<string, unknown>, msg: string) => void;
  /** What `POST /admin/routing/explain` reads (src/admin/routing-explain.ts); absent: the route is 404. */
  readonly routing?: RoutingExplainerOptions;
  /** What `GET /admin/spend` reads (src/admin/spend-history.ts); absent: the route is 404. */
  readonly spend?: SpendHistoryApiOptions;
  /** What `POST /admin/costs/estimate` reads (src/admin/cost-estimate.ts); absent: the route is 404. */
  readonly costs?: CostEstimatorOptions;
  /** What `GET /admin/prices` reads (src/admin/price-table.ts); absent: the route is 404. */
  readonly prices?: PriceTableOptions;
  /** What `GET /admin/dashboard/data` reads (src/admin/dashboard/data.ts); absent: the dashboard is 404. */
  readonly dashboard?: DashboardDataOptions;
  /**
   * Where a state backend outage met by the admin routes is logged: one warn at its first fault,
   * one info once it answers again (src/policy/outage-log.ts), without host or port.
   */
  readonly log?: OutageLogger;
}

/** Routes that read or write the state backend: a success there says the backend answers again. */
const STATE_PATHS = new Set([KEYS_PATH, SPEND_PATH, DASHBOARD_DATA_PATH]);

/**
 * The admin key API as a node:http request handler (JSON in, JSON out):
 *
 * - `POST /admin/keys` {name, team, feature?, models?, expiresAt?, disabled?} → 201, the key
 *   with its secret in `key` (shown this once; stored only as its SHA-256)
 * - `GET /admin/keys` → 200 `{"object":"list","data":[...]}` (gateway.yaml's and admin-created keys)
 * - `GET /admin/keys/{id}` → 200 the key; `PATCH /admin/keys/{id}` {disabled?, expiresAt?} → 200
 * - `DELETE /admin/keys/{id}` → 200 `{"object":"gateway.key.deleted","id","deleted":true}`
 * - `POST /admin/routing/explain` {request: <chat completion body>, key?: <key name>} → 200 the
 *   routing decision the request would get now, nothing sent upstream (routing-explain.ts)
 * - `GET /admin/spend?from=&to=&groupBy=team,provider,model` → 200 the fleet's hourly spend,
 *   tokens and requests from the state backend (spend-history.ts)
 * - `POST /admin/costs/estimate` {requestsPerDay, inputTokens, outputTokens, cachedInputShare?,
 *   latencySlaMs?, stream?, hours?|hourList?, models?} → 200 every (model, target) ranked by
 *   monthly USD among those meeting the SLA (cost-estimate.ts)
 * - `GET /admin/prices` → 200 the price table in force and its refresh state (price-table.ts)
 * - `GET /admin/dashboard` → the dashboard page and its files (`/admin/dashboard/app.js`, …):
 *   static, served without the admin key (the page asks for it and sends it on every API call);
 *   `GET /admin/dashboard/data` → 200 what the page draws (dashboard/data.ts), key required
 *
 * Every request needs `Authorization: Bearer <admin key>` first (401 otherwise, before any
 * routing, so nothing is learnt without it). Errors are OpenAI error bodies: 400, 401, 404, 405,
 * 409, 413, 415, and 503 `state_unavailable` with `retry-after: 1` when a route's state backend
 * read fails (keys, spend). Responses are `cache-control: no-store`.
 */
export function adminRequestHandler(opts: AdminApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const outage = new OutageLog(opts.log);
  const stateFault = (err: StateUnavailableError | KeyStoreUnavailableError, path: string): void => {
    const cause = err instanceof KeyStoreUnavailableError && err.cause instanceof StateUnavailableError ? err.cause : err;
    // The message only: StateUnavailableError's names no address; an error's cause chain (ioredis's) may.
    outage.fault({ admin_path: path.slice(0, 200), error: cause.message }, 'state backend unavailable: the admin API answers 503 state_unavailable');
  };
  const dashboard = opts.dashboard && { ...opts.dashboard, onStateFault: (err: StateUnavailableError) => stateFault(err, DASHBOARD_DATA_PATH) };
  const withOutage: AdminApiOptions = dashboard ? { ...opts, dashboard } : opts;
  return (req, res) => {
    const method = req.method ?? '';
    const path = (req.url ?? '/').split('?')[0]!;
    if (opts.dashboard && method === 'GET' && (path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`)) && path !== DASHBOARD_DATA_PATH) {
      // The page's files hold no data: they load without the key, the data API below needs it.
      const asset = dashboardAsset(path.slice(DASHBOARD_PATH.length));
      if (asset) {
        res.writeHead(200, { ...DASHBOARD_HEADERS, 'content-type': asset.contentType }).end(asset.body);
        return;
      }
    }
    handle(withOutage, req, method, path).then(
      ({ status, body, audit }) => {
        if (audit) opts.audit?.({ ...audit, status }, 'admin API');
        if (STATE_PATHS.has(path) || path.startsWith(`${KEYS_PATH}/`)) outage.ok({}, 'state backend answers again: the admin API serves it');
        send(res, status, body);
      },
      (thrown: unknown) => {
        let err = thrown;
        if (err instanceof StateUnavailableError || err instanceof KeyStoreUnavailableError) {
          stateFault(err, path);
          if (err instanceof StateUnavailableError) err = new AdminStateUnavailableError(err);
        }
        const e = asGatewayError(err);
        const logCause = e.status >= 500 && e.code !== 'state_unavailable';
        opts.audit?.({ admin_method: method, admin_path: path.slice(0, 200), status: e.status, error_code: e.code, ...(logCause ? { err: e.cause ?? e } : {}) }, 'admin API request refused');
        const { status, body, headers } = toOpenAIError(e);
        send(res, status, body, headers);
      },
    );
  };
}

interface Handled {
  status: number;
  body: unknown;
  audit?: Record<string, unknown>;
}

async function handle(opts: AdminApiOptions, req: IncomingMessage, method: string, path: string): Promise<Handled> {
  checkAdminKey(req.headers.authorization, opts.adminKeySha256());
  if (path === PRICES_PATH && opts.prices) {
    if (method !== 'GET') throw new MethodNotAllowedError(`Method ${method} is not allowed on ${PRICES_PATH}.`, { code: 'method_not_allowed' });
    return { status: 200, body: priceTable(opts.prices) };
  }
  if (path === DASHBOARD_DATA_PATH && opts.dashboard) {
    if (method !== 'GET') throw new MethodNotAllowedError(`Method ${method} is not allowed on ${DASHBOARD_DATA_PATH}.`, { code: 'method_not_allowed' });
    return { status: 200, body: await dashboardData(opts.dashboard) };
  }
  if (path === ESTIMATE_PATH && opts.costs) {
    if (method !== 'POST') throw new MethodNotAllowedError(`Method ${method} is not allowed on ${ESTIMATE_PATH}.`, { code: 'method_not_allowed' });
    return { status: 200, body: estimateCosts(opts.costs, await readJson(req)) };
  }
  if (path === SPEND_PATH && opts.spend) {
    if (method !== 'GET') throw new MethodNotAllowedError(`Method ${method} is not allowed on ${SPEND_PATH}.`, { code: 'method_not_allowed' });
    return { status: 200, body: await readSpend(opts.spend, new URL(req.url ?? '/', 'http://admin').searchParams) };
  }
  if (path === EXPLAIN_PATH && opts.routing) {
    if (method !== 'POST') throw new MethodNotAllowedError(`Method ${method} is not allowed on ${EXPLAIN_PATH}.`, { code: 'method_not_allowed' });
    return { status: 200, body: await explainRouting(opts.routing, await readJson(req)) };
  }
  if (path === KEYS_PATH) {
    if (method === 'GET') return { status: 200, body: { object: 'list', data: await opts.keys.list() } };
    if (method === 'POST') {
      const created = await opts.keys.create(await readJson(req));
      return { status: 201, body: created, audit: { admin_action: 'create', key_id: created.id, key_name: created.name, team: created.team } };
    }
    throw new MethodNotAllowedError(`Method ${method} is not allowed on ${KEYS_PATH}.`, { code: 'method_not_allowed' });
  }
  if (path.startsWith(`${KEYS_PATH}/`)) {
    const id = decodeId(path.slice(KEYS_PATH.length + 1));
    if (method === 'GET') return { status: 200, body: await opts.keys.get(id) };
    if (method === 'PATCH') {
      const updated = await opts.keys.update(id, await readJson(req));
      return { status: 200, body: updated, audit: { admin_action: 'update', key_id: updated.id, key_name: updated.name, disabled: updated.disabled, expires_at: updated.expiresAt } };
    }
    if (method === 'DELETE') {
      const { name, ...deleted } = await opts.keys.revoke(id);
      return { status: 200, body: deleted, audit: { admin_action: 'revoke', key_id: deleted.id, key_name: name } };
    }
    throw new MethodNotAllowedError(`Method ${method} is not allowed on ${KEYS_PATH}/{id}.`, { code: 'method_not_allowed' });
  }
  throw new NotFoundError(`Unknown request URL: ${method} ${path.slice(0, 200)}.`, { code: 'unknown_url' });
}

/** A `{id}` path segment, percent-decoded once (undecodable: as sent, which names no key). */
function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The request body as JSON: 415 unless application/json, 413 over MAX_BODY_BYTES, 400 unparsable. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    req.resume();
    throw new UnsupportedMediaTypeError(`Unsupported content type '${type.slice(0, 100)}'; send application/json.`, { code: 'unsupported_media_type' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(`The request body is larger than ${MAX_BODY_BYTES} bytes.`, { code: 'request_too_large' });
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new InvalidRequestError('The request body is not valid JSON.', { code: 'invalid_json' });
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // The created key's secret travels in a body: no cache may keep any of it.
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Starts the admin API on `host:port` (port 0: a free one); throws the listen error (EADDRINUSE...). */
export async function startAdminServer(host: string, port: number, opts: AdminApiOptions): Promise<Server> {
  const server = createServer(adminRequestHandler(opts));
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
