import type { ContentPart } from '../../openai/chat-request.ts';
import type { ImageBlockParam, TextBlockParam } from './wire-types.ts';
import { imageBlock } from './image.ts';
import { invalid } from './invalid.ts';

/**
 * OpenAI message content → Anthropic content blocks, one function per role because each
 * role accepts different parts. `param` is the message's path, e.g. `messages[3]`.
 * Whitespace-only text is omitted: Anthropic rejects empty text blocks (wire README 3.2).
 */
type Content = string | ContentPart[];
type PartKind = 'text' | 'image' | 'refusal';

/** User content: text and images. */
export function userBlocks(content: Content, param: string): Array<TextBlockParam | ImageBlockParam> {
  return blocks(content, param, new Set<PartKind>(['text', 'image']));
}

/** Tool results may carry text and images: https://docs.claude.com/en/docs/agents-and-tools/tool-use/implement-tool-use */
export function toolResultBlocks(content: Content, param: string): Array<TextBlockParam | ImageBlockParam> {
  return blocks(content, param, new Set<PartKind>(['text', 'image']));
}

/** Refusal parts are earlier assistant output; replayed as text (wire README 5.2). */
export function assistantBlocks(content: Content, param: string): TextBlockParam[] {
  return blocks(content, param, new Set<PartKind>(['text', 'refusal'])).filter(isText);
}

/** The Anthropic `system` prompt holds text only. */
export function systemBlocks(content: Content, param: string): TextBlockParam[] {
  return blocks(content, param, new Set<PartKind>(['text'])).filter(isText);
}

/** One text block, or none for whitespace-only text. */
export function textBlock(text: string): TextBlockParam[] {
  return text.trim() === '' ? [] : [{ type: 'text', text }];
}

function blocks(content: Content, param: string, allowed: ReadonlySet<PartKind>): Array<TextBlockParam | ImageBlockParam> {
  if (typeof content === 'string') return textBlock(content);
  return content.flatMap((part, j) => partBlocks(part, `${param}.content[${j}]`, allowed));
}

function partBlocks(part: ContentPart, param: string, allowed: ReadonlySet<PartKind>): Array<TextBlockParam | ImageBlockParam> {
  const record: Record<string, unknown> = part;
  switch (part.type) {
    case 'text':
      if (!allowed.has('text')) break;
      if (typeof record['text'] !== 'string') throw invalid(`${param}.text`, 'Text content parts need a string "text".');
      return textBlock(record['text']);
    case 'refusal':
      if (!allowed.has('refusal')) break;
      if (typeof record['refusal'] !== 'string') throw invalid(`${param}.refusal`, 'Refusal content parts need a string "refusal".');
      return textBlock(record['refusal']);
    case 'image_url': {
      if (!allowed.has('image')) break;
      const url = imageUrlOf(record['image_url']);
      if (url === undefined) throw invalid(`${param}.image_url.url`, 'Image content parts need a string "image_url.url".');
      return [imageBlock(url, `${param}.image_url.url`)];
    }
    case 'input_audio':
      throw invalid(param, 'Audio input is not supported by this model.');
    case 'file':
      throw invalid(param, 'File inputs are not supported by this model.');
    default:
      break;
  }
  throw invalid(param, `Content parts of type "${part.type}" are not supported in this message.`);
}

function imageUrlOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('url' in value)) return undefined;
  return typeof value.url === 'string' ? value.url : undefined;
}

function isText(block: TextBlockParam | ImageBlockParam): block is TextBlockParam {
  return block.type === 'text';
}
