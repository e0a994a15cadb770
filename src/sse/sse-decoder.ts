import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';

/**
 * A byte-level SSE decoder: bytes in any split (inside a UTF-8 character, inside a line,
 * several events at once, CR/LF/CRLF) in, whole events out. State lives in the instance.
 * eventsource-parser does the line protocol; a streaming TextDecoder keeps split UTF-8 intact.
 */
export class SseDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private readonly parser: EventSourceParser;
  private pending: EventSourceMessage[] = [];

  constructor() {
    this.parser = createParser({ onEvent: (event) => this.pending.push(event) });
  }

  /** Feeds bytes; returns the events completed by them (possibly none). */
  push(chunk: Uint8Array): EventSourceMessage[] {
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    return this.drain();
  }

  /** Flushes: an unterminated final event is delivered, not dropped. */
  end(): EventSourceMessage[] {
    const tail = this.decoder.decode();
    if (tail) this.parser.feed(tail);
    this.parser.feed('\n\n');
    return this.drain();
  }

  private drain(): EventSourceMessage[] {
    if (this.pending.length === 0) return EMPTY;
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

const EMPTY: EventSourceMessage[] = [];
export type { EventSourceMessage };
