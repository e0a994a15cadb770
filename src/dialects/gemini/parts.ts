import { z } from 'zod';
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { ContentPart } from '../../openai/chat-request.ts';
import { audioMime, fileMimeFromName, imageMimeFromUrl, isBase64, parseDataUrl, parseHttpUrl } from './media.ts';
import type { GeminiPart } from './wire-types.ts';

/**
 * OpenAI message content → Gemini parts (https://ai.google.dev/api/caching#Part).
 * `param` is the caller-facing path of the content (`messages[3].content`), so every refusal
 * names the exact field.
 */

const imagePart = z.looseObject({ image_url: z.looseObject({ url: z.string() }) });
const audioPart = z.looseObject({ input_audio: z.looseObject({ data: z.string(), format: z.string() }) });
const filePart = z.looseObject({
  file: z.looseObject({
    file_data: z.string().nullish(),
    file_id: z.string().nullish(),
    filename: z.string().nullish(),
  }),
});
const textLike = z.looseObject({ text: z.string().optional(), refusal: z.string().optional() });

function bad(message: string, param: string): InvalidRequestError {
  return new InvalidRequestError(message, { param });
}

function imageToPart(part: ContentPart, param: string): GeminiPart {
  const parsed = imagePart.safeParse(part);
  if (!parsed.success) throw bad('An image_url part needs image_url.url.', `${param}.image_url.url`);
  const url = parsed.data.image_url.url;
  if (url.startsWith('data:')) {
    const media = parseDataUrl(url);
    if (!media) throw bad('The image data URL is malformed: expected data:<mime>;base64,<data>.', `${param}.image_url.url`);
    return { inlineData: media };
  }
  const http = parseHttpUrl(url);
  if (!http) throw bad('image_url.url must be an http(s) URL or a data URL.', `${param}.image_url.url`);
  // fileData.mimeType is optional in the Gemini API; when the extension does not say, Gemini
  // determines the type itself rather than the gateway guessing wrongly.
  const mimeType = imageMimeFromUrl(http);
  return { fileData: mimeType ? { mimeType, fileUri: url } : { fileUri: url } };
}

function audioToPart(part: ContentPart, param: string): GeminiPart {
  const parsed = audioPart.safeParse(part);
  if (!parsed.success) throw bad('An input_audio part needs input_audio.data and input_audio.format.', `${param}.input_audio`);
  const { data, format } = parsed.data.input_audio;
  const mimeType = audioMime(format);
  if (!mimeType) throw bad(`Audio format "${format}" is not supported by this model.`, `${param}.input_audio.format`);
  if (!isBase64(data)) throw bad('input_audio.data must be base64.', `${param}.input_audio.data`);
  return { inlineData: { mimeType, data } };
}

function fileToPart(part: ContentPart, param: string): GeminiPart {
  const parsed = filePart.safeParse(part);
  if (!parsed.success) throw bad('A file part needs file.file_data.', `${param}.file`);
  const { file_data: fileData, file_id: fileId, filename } = parsed.data.file;
  if (fileData) {
    const media = fileData.startsWith('data:') ? parseDataUrl(fileData) : undefined;
    if (media) return { inlineData: media };
    const mimeType = filename ? fileMimeFromName(filename) : undefined;
    if (mimeType && isBase64(fileData)) return { inlineData: { mimeType, data: fileData } };
    throw bad('file.file_data must be a data URL, or base64 with a filename of a known type.', `${param}.file.file_data`);
  }
  if (fileId) throw bad('Uploaded file ids are not supported by this model; send file.file_data.', `${param}.file.file_id`);
  throw bad('A file part needs file.file_data.', `${param}.file`);
}

function textOf(part: ContentPart, param: string, allowRefusal: boolean): string {
  const parsed = textLike.safeParse(part);
  if (part.type === 'text' && parsed.success && parsed.data.text !== undefined) return parsed.data.text;
  if (allowRefusal && part.type === 'refusal' && parsed.success && parsed.data.refusal !== undefined) {
    return parsed.data.refusal;
  }
  throw bad(`Content part type "${part.type}" is not supported here.`, `${param}.type`);
}

/** Empty text is dropped: Gemini rejects a part whose only field is an empty string. */
function textPart(text: string): GeminiPart[] {
  return text === '' ? [] : [{ text }];
}

/** User content: text, images, audio and inline files. */
export function userParts(content: string | ContentPart[], param: string): GeminiPart[] {
  if (typeof content === 'string') return textPart(content);
  return content.flatMap((part, j): GeminiPart[] => {
    const at = `${param}[${j}]`;
    switch (part.type) {
      case 'image_url':
        return [imageToPart(part, at)];
      case 'input_audio':
        return [audioToPart(part, at)];
      case 'file':
        return [fileToPart(part, at)];
      default:
        return textPart(textOf(part, at, false));
    }
  });
}

/** Assistant content: text and refusals (README 5.2: a refusal in history is replayed as text). */
export function assistantParts(content: string | ContentPart[], param: string): GeminiPart[] {
  if (typeof content === 'string') return textPart(content);
  return content.flatMap((part, j) => textPart(textOf(part, `${param}[${j}]`, true)));
}

/** System and developer content: text only, one Gemini part per OpenAI part. */
export function systemTexts(content: string | ContentPart[], param: string): string[] {
  if (typeof content === 'string') return content === '' ? [] : [content];
  return content.map((part, j) => textOf(part, `${param}[${j}]`, false)).filter((text) => text !== '');
}

/** Tool-result content: text only, concatenated because a function response is one value. */
export function toolResultText(content: string | ContentPart[], param: string): string {
  if (typeof content === 'string') return content;
  return content.map((part, j) => textOf(part, `${param}[${j}]`, false)).join('');
}
