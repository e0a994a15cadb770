/**
 * Media helpers for request translation: data URLs (RFC 2397) and MIME types Gemini accepts
 * (https://ai.google.dev/gemini-api/docs/image-understanding#supported-formats,
 * https://ai.google.dev/gemini-api/docs/audio#supported-formats).
 */

export interface InlineMedia {
  mimeType: string;
  /** Standard base64. */
  data: string;
}

const BASE64_BODY = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Percent-decodes to bytes (not to a string: a data URL may carry any octets). */
function percentDecode(text: string): Buffer | undefined {
  const chunks: Buffer[] = [];
  for (const [token] of text.matchAll(/%[0-9A-Fa-f]{2}|[^%]+|%/g)) {
    if (token === '%') return undefined;
    chunks.push(token.startsWith('%') ? Buffer.from([parseInt(token.slice(1), 16)]) : Buffer.from(token, 'utf8'));
  }
  return Buffer.concat(chunks);
}

/** `data:<mime>[;params][;base64],<data>` → mime and base64 data; undefined when malformed or untyped. */
export function parseDataUrl(url: string): InlineMedia | undefined {
  const match = /^data:([^,]*),(.*)$/s.exec(url);
  if (!match) return undefined;
  const [, header = '', body = ''] = match;
  const params = header.split(';').map((p) => p.trim());
  const mimeType = (params[0] ?? '').toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(mimeType)) return undefined;
  if (params.slice(1).some((p) => p.toLowerCase() === 'base64')) {
    const data = body.replace(/\s+/g, '');
    if (data === '' || !BASE64_BODY.test(data)) return undefined;
    return { mimeType, data };
  }
  const bytes = percentDecode(body);
  if (!bytes || bytes.length === 0) return undefined;
  return { mimeType, data: bytes.toString('base64') };
}

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  gif: 'image/gif',
};

/** MIME type from the URL path's extension, if it names an image type; query and fragment ignored. */
export function imageMimeFromUrl(url: URL): string | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(url.pathname)?.[1]?.toLowerCase();
  return ext === undefined ? undefined : IMAGE_TYPES[ext];
}

/** An absolute http(s) URL, or undefined. */
export function parseHttpUrl(text: string): URL | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}

const AUDIO_TYPES: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mp3',
  aiff: 'audio/aiff',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
};

/** Gemini's MIME type for an OpenAI `input_audio.format`, if Gemini takes that format. */
export function audioMime(format: string): string | undefined {
  return AUDIO_TYPES[format.toLowerCase()];
}

const FILE_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  html: 'text/html',
  csv: 'text/csv',
  xml: 'text/xml',
  ...IMAGE_TYPES,
  ...AUDIO_TYPES,
};

/** MIME type from a file name's extension, if Gemini takes that type inline. */
export function fileMimeFromName(name: string): string | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return ext === undefined ? undefined : FILE_TYPES[ext];
}

/** Whether `text` is plain standard/url-safe base64 (as OpenAI's `file_data` may be). */
export function isBase64(text: string): boolean {
  return text !== '' && BASE64_BODY.test(text);
}
