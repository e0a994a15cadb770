/**
 * The largest request bodies the default `server.limits` accept, one per dimension they bound
 * (src/exchange/request-limits.ts, src/config/schema.ts): used by the head-of-line bench and by
 * bench/request-steps.ts. Each is a valid chat request for claude-sonnet-4-5.
 */
export interface LargeBody {
  readonly id: string;
  readonly label: string;
  readonly body: string;
}

const part = (t: string) => ({ type: 'text', text: t });

/** 4,095 messages × 2 short text parts (~37,000 JSON values, 0.3 MB): the limits' message and part counts. */
export function largestAccepted(): string {
  return JSON.stringify({
    model: 'claude-sonnet-4-5',
    messages: Array.from({ length: 4095 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: [part(`m${i}`), part(`n${i}`)] })),
  });
}

/** The same conversation plus a tool whose schema has a 60,000-value enum: ~97,000 JSON values, just under maxJsonValues. */
export function mostValues(): string {
  const body = JSON.parse(largestAccepted()) as Record<string, unknown>;
  body.tools = [{ type: 'function', function: { name: 'pick', parameters: { type: 'object', properties: { id: { type: 'string', enum: Array.from({ length: 60_000 }, (_, i) => `v${i}`) } } } } }];
  return JSON.stringify(body);
}

/** 4,095 messages × 2 parts of ~1,900 characters: ~15.6 MB, just under maxBodyBytes (16 MiB). */
export function mostBytes(): string {
  const text = 'lorem ipsum dolor sit amet, '.repeat(68);
  return JSON.stringify({
    model: 'claude-sonnet-4-5',
    messages: Array.from({ length: 4095 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: [part(`${i} ${text}`), part(text)] })),
  });
}

export function largeBodies(): LargeBody[] {
  return [
    { id: 'accepted', label: 'largest accepted: 4,095 messages × 2 parts', body: largestAccepted() },
    { id: 'values', label: 'most values: + a 60,000-value enum', body: mostValues() },
    { id: 'bytes', label: 'most bytes: 4,095 × 2 parts of 1,900 chars', body: mostBytes() },
  ];
}
