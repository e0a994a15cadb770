import type { ToolMode, ToolResultView, ToolSpec } from '../../model/conversation.ts';
import { PromptCounter } from '../../model/tokens.ts';
import type { BodyReply } from '../../reply.ts';
import { asArray, asInt, asString, field, isObject, type JsonObject, type JsonParse } from '../../unknown.ts';
import type { ParsedRequest, Route } from '../provider.ts';
import { geminiBadRequest } from './errors.ts';
import { parseGeminiOutput } from './output.ts';
import { checkThoughtSignature } from './thought-signature.ts';

const EMPTY_OBJECT_SCHEMA = { type: 'object', properties: {} };

interface PartsSummary {
  readonly text: string;
  readonly calls: number;
  readonly results: ToolResultView[];
  /** Name of the first functionCall when it lacks a thoughtSignature. */
  readonly unsigned: string | undefined;
}

function summarize(parts: readonly unknown[], counter: PromptCounter): PartsSummary {
  let text = '';
  let calls = 0;
  let unsigned: string | undefined;
  const results: ToolResultView[] = [];
  for (const p of parts) {
    if (!isObject(p)) continue;
    if (typeof p['text'] === 'string' && p['thought'] !== true) text += p['text'];
    if (field(p, 'inlineData', 'inline_data') !== undefined || field(p, 'fileData', 'file_data') !== undefined) counter.image();
    const call = field(p, 'functionCall', 'function_call');
    if (isObject(call)) {
      const name = asString(call['name']) ?? '';
      counter.text(name);
      counter.json(call['args']);
      // Gemini 3 signs only the first functionCall of a step (parallel calls share it).
      const sig = field(p, 'thoughtSignature', 'thought_signature');
      if (calls === 0 && (typeof sig !== 'string' || sig.length === 0)) unsigned = name;
      calls += 1;
    }
    const response = field(p, 'functionResponse', 'function_response');
    if (isObject(response)) {
      const content = JSON.stringify(response['response'] ?? {});
      counter.text(content);
      results.push({ name: asString(response['name']) ?? '', content });
    }
  }
  counter.text(text);
  return { text, calls, results, unsigned };
}

interface Walk {
  readonly lastUserText: string;
  readonly toolResults: ToolResultView[];
}

type BadRequest = (message: string) => BodyReply;

/** Gemini decodes every `thoughtSignature` as bytes and refuses one it did not issue. */
function signatureError(parts: readonly unknown[], i: number, bad: BadRequest): BodyReply | undefined {
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j];
    const sig = isObject(p) ? field(p, 'thoughtSignature', 'thought_signature') : undefined;
    if (typeof sig !== 'string' || sig.length === 0) continue;
    const check = checkThoughtSignature(sig);
    if (check === 'not-base64') return bad(`Invalid value at 'contents[${i}].parts[${j}].thought_signature' (TYPE_BYTES), Base64 decoding failed for "${sig}"`);
    if (check === 'corrupted') return bad('Corrupted thought signature.');
  }
  return undefined;
}

function walkContents(contents: readonly unknown[], counter: PromptCounter, bad: BadRequest): Walk | BodyReply {
  let lastUserText = '';
  let toolResults: ToolResultView[] = [];
  let prevCalls = 0;
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i];
    if (!isObject(c)) return bad(`Invalid value at 'contents[${i}]': expected an object.`);
    const role = c['role'] ?? 'user';
    if (role !== 'user' && role !== 'model') return bad('Please use a valid role: user, model.');
    const parts = asArray(c['parts']);
    if (parts.length === 0) return bad(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`);
    const signature = signatureError(parts, i, bad);
    if (signature !== undefined) return signature;
    const s = summarize(parts, counter);
    if (s.unsigned !== undefined) {
      return bad(`Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${s.unsigned}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
    }
    if (s.results.length > 0 && prevCalls === 0) {
      return bad('Please ensure that function response turn comes immediately after a function call turn.');
    }
    if (prevCalls > 0 && s.results.length !== prevCalls) {
      return bad('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
    }
    if (role === 'user') {
      toolResults = s.results;
      if (s.text.length > 0) lastUserText = s.text;
    } else {
      toolResults = [];
    }
    prevCalls = s.calls;
  }
  return { lastUserText, toolResults };
}

function parseTools(body: JsonObject, counter: PromptCounter): ToolSpec[] {
  const tools: ToolSpec[] = [];
  for (const t of asArray(body['tools'])) {
    if (!isObject(t)) continue;
    for (const d of asArray(field(t, 'functionDeclarations', 'function_declarations'))) {
      if (!isObject(d)) continue;
      const name = asString(d['name']);
      if (name === undefined) continue;
      counter.json(d);
      tools.push({ name, schema: field(d, 'parametersJsonSchema', 'parameters_json_schema') ?? d['parameters'] ?? EMPTY_OBJECT_SCHEMA });
    }
  }
  return tools;
}

function parseToolMode(body: JsonObject): ToolMode {
  const config = field(body, 'toolConfig', 'tool_config');
  const fcc = isObject(config) ? field(config, 'functionCallingConfig', 'function_calling_config') : undefined;
  if (!isObject(fcc)) return { kind: 'auto' };
  const allowed = asArray(field(fcc, 'allowedFunctionNames', 'allowed_function_names')).filter((n): n is string => typeof n === 'string');
  switch (fcc['mode']) {
    case 'ANY':
      return { kind: 'required', allowed: allowed.length > 0 ? allowed : undefined };
    case 'NONE':
      return { kind: 'none' };
    default:
      return { kind: 'auto' };
  }
}

/** Validates a Gemini generateContent body the way the API does (incl. Gemini 3 thought signatures). */
export function parseGeminiRequest(parsed: JsonParse, route: Route): ParsedRequest | BodyReply {
  const bad: BadRequest = (message) => geminiBadRequest(message, { streamRoute: route.stream });
  if (!parsed.ok || !isObject(parsed.value)) return bad('Invalid JSON payload received. Unexpected token.');
  const body = parsed.value;
  const contents = body['contents'];
  if (!Array.isArray(contents) || contents.length === 0) {
    return bad('* GenerateContentRequest.contents: contents is not specified\n');
  }
  const counter = new PromptCounter();
  const system = field(body, 'systemInstruction', 'system_instruction');
  const instructions = isObject(system) ? summarize(asArray(system['parts']), counter).text : '';
  const walk = walkContents(contents, counter, bad);
  if ('kind' in walk) return walk;
  const tools = parseTools(body, counter);
  const gen = field(body, 'generationConfig', 'generation_config');
  const config = isObject(gen) ? gen : {};
  const maxTokens = asInt(field(config, 'maxOutputTokens', 'max_output_tokens'));
  const stop = asArray(field(config, 'stopSequences', 'stop_sequences')).filter((s): s is string => typeof s === 'string');
  const shape = parseGeminiOutput(config, bad);
  if ('kind' in shape) return shape;
  return {
    conv: {
      model: route.model ?? '',
      lastUserText: walk.lastUserText,
      toolResults: walk.toolResults,
      tools,
      toolMode: parseToolMode(body),
      maxTokens: maxTokens !== undefined && maxTokens > 0 ? maxTokens : undefined,
      stop,
      promptTokens: counter.tokens,
      instructions,
      output: shape.output,
      choices: shape.choices,
    },
    stream: route.stream,
    sse: route.sse,
    includeUsage: false,
    obfuscation: false,
  };
}
