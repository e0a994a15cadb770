import type { ChatRequest } from '../openai/chat-request.ts';
import { scrubSecrets } from '../lib/scrub.ts';

/** Characters past `maxChars` scrubbed with the kept text, so nothing secret straddles the cut, chars. */
const SCRUB_MARGIN = 512;

/** gateway.yaml `observability.requestLog.content` (src/observability/config.ts). */
export interface ContentSettings {
  readonly teams: readonly string[];
  readonly maxChars: number;
}

/**
 * The prompt and completion text on a request line, for a team whose content logging is on
 * (`observability.requestLog.content.teams`; off for every team by default). Each is cut to
 * `maxChars` characters (`…[truncated]` marks a cut) and passed through the gateway's secret
 * scrubber (src/lib/scrub.ts: credential-like strings, URLs, host names and IP addresses become
 * `[redacted]`), so a key pasted into a prompt does not land in the log. Never headers, never
 * the caller's or a provider's key: only message text.
 *
 * The completion is what the caller was sent: the OpenAI JSON answer's message text, or a
 * stream's `delta.content` pieces joined (pushStream reads the SSE as it passes; it parses
 * only for teams with content logging on).
 */
export class ContentCapture {
  private completion = '';
  private full = false;
  /** An SSE line split across two chunks. */
  private partial = '';

  constructor(private readonly maxChars: number) {}

  /** A capture for this team, or undefined when its content is not logged. */
  static for(settings: ContentSettings, team: string | undefined): ContentCapture | undefined {
    return team !== undefined && settings.teams.includes(team) ? new ContentCapture(settings.maxChars) : undefined;
  }

  /** The prompt's message text, one `role: text` line per message (non-text parts as `[image]`, `[audio]`, …). */
  prompt(request: ChatRequest | undefined): string | undefined {
    if (!request) return undefined;
    let out = '';
    for (const m of request.messages) {
      if (out.length > this.maxChars) break;
      const c = (m as { content?: unknown }).content;
      const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((p: { type?: string; text?: string }) => (p.type === 'text' ? (p.text ?? '') : `[${p.type ?? 'part'}]`)).join(' ') : '';
      out += `${out ? '\n' : ''}${m.role}: ${text}`;
    }
    return this.bound(out);
  }

  /** One streamed chunk as sent to the caller (SSE text). */
  pushStream(sse: string): void {
    if (this.full || sse === '') return;
    const lines = (this.partial + sse).split('\n');
    this.partial = (lines.pop() ?? '').slice(0, 1 << 20);
    for (const line of lines) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      try {
        const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: unknown } }> };
        const piece = chunk.choices?.[0]?.delta?.content;
        if (typeof piece === 'string') this.add(piece);
      } catch {
        // not a chunk (an error event's JSON is an object without choices): nothing to add
      }
    }
  }

  /** The whole JSON answer as sent to the caller. */
  pushBody(json: string): void {
    try {
      const answer = JSON.parse(json) as { choices?: Array<{ message?: { content?: unknown } }> };
      const text = answer.choices?.[0]?.message?.content;
      if (typeof text === 'string') this.add(text);
    } catch {
      // not an OpenAI answer: no completion text
    }
  }

  /** The completion text so far, bounded and scrubbed; undefined when none. */
  completionText(): string | undefined {
    return this.completion === '' ? undefined : this.bound(this.completion);
  }

  private add(text: string): void {
    this.completion += text;
    // Keep a little more than maxChars: the cut and its marker are made once, at the end.
    if (this.completion.length > this.maxChars) this.full = true;
  }

  private bound(text: string): string {
    // Scrub before the cut: a cut first can split a host name or key so that the scrubber no
    // longer sees it whole and a fragment survives (`db1.internal.cor…`). The margin covers the
    // longest thing it looks for; scrubbing only shortens text.
    const scrubbed = scrubSecrets(text.length > this.maxChars + SCRUB_MARGIN ? text.slice(0, this.maxChars + SCRUB_MARGIN) : text);
    return scrubbed.length > this.maxChars ? `${scrubbed.slice(0, this.maxChars)}…[truncated]` : scrubbed;
  }
}
