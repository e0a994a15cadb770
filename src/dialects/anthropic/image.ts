import type { ImageBlockParam, ImageMediaType } from './wire-types.ts';
import { invalid } from './invalid.ts';

/**
 * OpenAI `image_url` → Anthropic image block. Data URLs become base64 sources, http(s) URLs
 * become url sources; Anthropic accepts no other scheme and only four media types:
 * https://docs.claude.com/en/docs/build-with-claude/vision
 */
const MEDIA_TYPES: ReadonlyMap<string, ImageMediaType> = new Map([
  ['image/jpeg', 'image/jpeg'],
  // A common mislabel of JPEG; Anthropic only knows the registered name.
  ['image/jpg', 'image/jpeg'],
  ['image/png', 'image/png'],
  ['image/gif', 'image/gif'],
  ['image/webp', 'image/webp'],
]);

// `data:<mime>[;param…];base64,<payload>`; the payload is checked separately below.
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `param` names the url field, e.g. `messages[2].content[1].image_url.url`. */
export function imageBlock(url: string, param: string): ImageBlockParam {
  if (url.slice(0, 5).toLowerCase() === 'data:') return dataUrlImage(url, param);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(param, 'Image URL is not a valid URL; use an https:// URL or a base64 data URL.');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw invalid(param, `Image URL scheme "${parsed.protocol}" is not supported; use an https:// URL or a base64 data URL.`);
  }
  return { type: 'image', source: { type: 'url', url } };
}

function dataUrlImage(url: string, param: string): ImageBlockParam {
  const match = DATA_URL.exec(url);
  if (!match) throw invalid(param, 'Malformed data URL for image.');
  const params = (match[2] ?? '').toLowerCase().split(';');
  if (!params.includes('base64')) throw invalid(param, 'Image data URLs must be base64-encoded (";base64,").');
  const mediaType = MEDIA_TYPES.get((match[1] ?? '').trim().toLowerCase());
  if (mediaType === undefined) {
    throw invalid(param, 'Unsupported image media type; supported types are image/jpeg, image/png, image/gif and image/webp.');
  }
  const data = url.slice(match[0].length);
  if (!BASE64.test(data)) throw invalid(param, 'Image data URL payload is not valid base64.');
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data } };
}
