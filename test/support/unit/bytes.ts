import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Wire fixtures and ways of cutting bytes into pushes. */
const WIRE = fileURLToPath(new URL('../../fixtures/wire/', import.meta.url));

export function wireBytes(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(WIRE + relative));
}

export function wireText(relative: string): string {
  return readFileSync(WIRE + relative, 'utf8');
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function oneBytePieces(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** Two pieces cut at `offset`. */
export function splitAt(bytes: Uint8Array, offset: number): Uint8Array[] {
  return [bytes.subarray(0, offset), bytes.subarray(offset)];
}
