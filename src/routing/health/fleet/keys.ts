import type { TargetKey } from '../view.ts';

/**
 * Redis key layout of fleet health (the client's `keyPrefix`, default `llmx:`, goes before each
 * key). Every key of a target shares the Redis Cluster hash tag `{h:<target>}`, so one target's
 * sync is one script on one slot. `{`, `}` and `%` in a target are %-escaped, so a target
 * cannot end its tag early.
 *
 * | key | type | holds | expires |
 * |---|---|---|---|
 * | `hw:{h:<target>}:<windowMs>:<sub>` | hash | one sub-window (epoch ms / subWindowMs) of the fleet's samples: `a.<gen>`, `e.<gen>` (attempts, errors since the breaker's last close), `pt`, `ct` (prompt, cached tokens), `n<k>`, `s<k>` (samples, their sum in whole ms), `h<k>.<bucket>` (histogram.ts); k 0 streams, 1 JSON | when the sub-window leaves the window |
 * | `hb:{h:<target>}` | hash | the breaker as last decided: `state` (open, closed), `reason`, `until` (epoch ms), `gen`, `id` (of the write), `detail` | open: the open period + the window; closed: the window |
 * | `hp:{h:<target>}` | string | the replica holding the half-open probe (`SET NX PX probeTimeoutMs`) | `probeTimeoutMs` |
 * | `hc:{h:<target>}` | string | epoch ms until which the target cools down after a 429 (only raised) | at that time |
 */
const tag = (key: TargetKey): string => `{h:${key.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}}`;

export const windowKey = (key: TargetKey, windowMs: number, sub: number): string => `hw:${tag(key)}:${windowMs}:${sub}`;
export const breakerKey = (key: TargetKey): string => `hb:${tag(key)}`;
export const probeKey = (key: TargetKey): string => `hp:${tag(key)}`;
export const cooldownKey = (key: TargetKey): string => `hc:${tag(key)}`;
