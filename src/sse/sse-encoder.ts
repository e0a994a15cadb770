/** OpenAI framing: one `data:` line per event, blank line after, no `event:` lines. */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';
