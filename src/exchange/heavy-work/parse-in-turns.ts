import type { ChatRequest } from '../../openai/chat-request.ts';
import { parseRequestJson, scanRequestBody, validateChatRequest } from '../parse-request.ts';
import type { RequestLimits } from '../request-limits.ts';
import type { HeavyJob } from './turn-queue.ts';

/**
 * parseChatRequest (parse-request.ts) for a large body, one stage per event-loop turn of `job`:
 * the limits scan, UTF-8 decode + JSON.parse, the duplicate-key check + validation. Same result
 * and same 400s as the in-line path; for a 16 MB body the longest stage (JSON.parse) holds the
 * loop ~25 ms instead of ~45 ms for all three (bench/request-steps.ts).
 */
export async function parseChatRequestInTurns(job: HeavyJob, body: Uint8Array, limits: RequestLimits): Promise<ChatRequest> {
  const shape = await job.step(() => scanRequestBody(body, limits));
  const parsed = await job.step(() => parseRequestJson(body, shape));
  return job.step(() => validateChatRequest(parsed));
}
