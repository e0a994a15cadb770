import type { Readable } from 'node:stream';

/** Request body, or `undefined` when it exceeded the limit (the rest is drained, not kept). */
export function readBody(stream: Readable, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) parts.push(chunk);
    });
    stream.once('end', () => resolve(size > limit ? undefined : parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)));
    stream.once('error', reject);
    stream.once('close', () => {
      if (!stream.readableEnded) reject(new Error('request aborted before its body ended'));
    });
  });
}
