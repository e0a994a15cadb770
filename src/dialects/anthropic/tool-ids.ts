import { createHash } from 'node:crypto';

const VALID_ID = /^[a-zA-Z0-9_-]+$/;
const INVALID_CHARS = /[^a-zA-Z0-9_-]/g;
const MAX_PREFIX = 40;

/**
 * Maps an OpenAI tool-call id onto Anthropic's `^[a-zA-Z0-9_-]+$` id pattern (wire README 3.2).
 * Valid ids pass unchanged, so Anthropic's own `toolu_…` ids round-trip. Other ids keep a
 * readable prefix plus a hash of the original, so two different ids never collide and the
 * `tool_use` and its `tool_result` always get the same replacement (the function is pure).
 */
export function sanitizeToolId(id: string): string {
  if (VALID_ID.test(id)) return id;
  const prefix = id.replace(INVALID_CHARS, '_').slice(0, MAX_PREFIX);
  const digest = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 16);
  return `${prefix}-${digest}`;
}
