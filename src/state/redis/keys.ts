/**
 * Redis key layout. Every key one script touches shares a Redis Cluster hash tag: `{t:<team>}`
 * for windows and budgets (a gateway key belongs to one team, so a request's key, team and
 * feature counters all sit on the team's shard), `{r:<namespace>}` for records. The client's
 * `keyPrefix` (default `llmx:`) goes before each key.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `rl:{t:<team>}:<counter>:<windowMs>` | hash | sub-window index → units; expires when its newest bucket leaves the window |
 * | `rl:{t:<team>}:res:<requestId>` | string | marks an unsettled window reservation (settle/release once) |
 * | `sp:{t:<team>}:<subject>:<period>` | string (integer) | settled spend, nano-USD; no TTL (durable) |
 * | `st:{t:<team>}:<subject>:<period>` | string (integer) | nano-USD held by the budget's active reservations (the running total) |
 * | `sr:{t:<team>}:<subject>:<period>` | hash | request id → nano-USD, the budget's active spend reservations |
 * | `sx:{t:<team>}:<subject>:<period>` | sorted set | the same request ids, scored by expiresAt (ms), so the due ones are found without a scan |
 * | `sd:{t:<team>}:<requestId>` | string | this request's spend is settled (24 h), so a second settle adds nothing |
 * | `c:<key>` | string | cached response bytes, `PX` TTL |
 * | `r:{r:<namespace>}:<id>` | string | a record, `PX` TTL when it has one |
 * | `ri:{r:<namespace>}` | sorted set | the namespace's record ids, scored by expiry (ms; +inf: none) |
 * | `hs:{h:<hourMs>}` | hash | spend history of one hour: `<metric>:<JSON [team, provider, model]>` → integer (./spend-history.ts); expires `keepMs` after the hour |
 *
 * `st`, `sr` and `sx` expire together with their newest reservation. They replace one hash
 * `sh:` of `<nano-USD>:<expiresAt>` that every reserve read whole (cost grew with the
 * reservations held); left-over `sh:` keys expire by their own TTL.
 */
const tag = (team: string): string => `{t:${team}}`;

export const windowKey = (team: string, counter: string, windowMs: number): string => `rl:${tag(team)}:${counter}:${windowMs}`;
export const windowReservationKey = (team: string, requestId: string): string => `rl:${tag(team)}:res:${requestId}`;
export const spentKey = (team: string, subject: string, period: string): string => `sp:${tag(team)}:${subject}:${period}`;
/** The keys of one budget's spend reservations, in the order the spend scripts take them. */
export const heldKeys = (team: string, subject: string, period: string): [total: string, held: string, byExpiry: string] => [
  `st:${tag(team)}:${subject}:${period}`,
  `sr:${tag(team)}:${subject}:${period}`,
  `sx:${tag(team)}:${subject}:${period}`,
];
export const settledKey = (team: string, requestId: string): string => `sd:${tag(team)}:${requestId}`;
export const cacheKey = (key: string): string => `c:${key}`;
export const recordKey = (namespace: string, id: string): string => `r:{r:${namespace}}:${id}`;
export const recordIndexKey = (namespace: string): string => `ri:{r:${namespace}}`;
