import type { ChatRequest } from '../../openai/chat-request.ts';
import type { ToolChoiceParam, ToolParam } from './wire-types.ts';
import { invalid } from './invalid.ts';

/**
 * OpenAI `tools`/`tool_choice`/`parallel_tool_calls` → Anthropic `tools`/`tool_choice`.
 * https://docs.claude.com/en/docs/agents-and-tools/tool-use/implement-tool-use
 */
export interface TranslatedTools {
  tools?: ToolParam[];
  tool_choice?: ToolChoiceParam;
}

/** Anthropic requires `input_schema` of type object; a function without parameters takes none. */
const EMPTY_SCHEMA = { type: 'object', properties: {} } as const;

export function translateTools(req: ChatRequest): TranslatedTools {
  const tools = (req.tools ?? []).map(toolParam);
  const choice = toolChoice(req, tools);
  const out: TranslatedTools = {};
  if (tools.length > 0) out.tools = tools;
  if (choice !== undefined) out.tool_choice = choice;
  return out;
}

function toolParam(tool: NonNullable<ChatRequest['tools']>[number], i: number): ToolParam {
  const fn = functionOf(tool);
  if (fn === undefined) throw invalid(`tools[${i}].type`, `Tools of type "${tool.type}" are not supported by this model; only "function" tools are.`);
  const out: ToolParam = { name: fn.name, input_schema: inputSchema(fn.parameters, `tools[${i}].function.parameters`) };
  if (fn.description !== undefined) out.description = fn.description;
  // Anthropic's strict tool use guarantees schema-valid input, like OpenAI's `strict`:
  // https://docs.claude.com/en/docs/build-with-claude/structured-outputs
  if (fn.strict === true) out.strict = true;
  return out;
}

interface FunctionDef {
  name: string;
  description?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
  strict?: boolean | null | undefined;
}

function functionOf(tool: NonNullable<ChatRequest['tools']>[number]): FunctionDef | undefined {
  if (tool.type !== 'function' || !('function' in tool)) return undefined;
  const fn: unknown = tool.function;
  if (typeof fn !== 'object' || fn === null || !('name' in fn) || typeof fn.name !== 'string') return undefined;
  return fn as FunctionDef;
}

function inputSchema(parameters: Record<string, unknown> | undefined, param: string): Record<string, unknown> {
  if (parameters === undefined || Object.keys(parameters).length === 0) return { ...EMPTY_SCHEMA, properties: {} };
  const type = parameters['type'];
  if (type === 'object') return parameters;
  // OpenAI tolerates `{"properties": …}` without a type; its only reading is an object schema.
  if (type === undefined && 'properties' in parameters) return { type: 'object', ...parameters };
  throw invalid(param, 'Tool parameters must be a JSON Schema with "type": "object".');
}

function toolChoice(req: ChatRequest, tools: ToolParam[]): ToolChoiceParam | undefined {
  const choice = req.tool_choice;
  // Without tools there is nothing to choose; "none"/"auto" are then no-ops, the rest a contradiction.
  if (tools.length === 0) {
    if (choice === undefined || choice === 'none' || choice === 'auto') return undefined;
    throw invalid('tool_choice', 'tool_choice requires tools.');
  }
  const disableParallel = req.parallel_tool_calls === false;
  if (choice === 'none') return { type: 'none' };
  if (choice === undefined) return disableParallel ? { type: 'auto', disable_parallel_tool_use: true } : undefined;
  if (choice === 'auto') return withParallel({ type: 'auto' }, disableParallel);
  if (choice === 'required') return withParallel({ type: 'any' }, disableParallel);
  const name = namedChoice(choice);
  if (name === undefined) throw invalid('tool_choice', 'Only "none", "auto", "required" and function tool choices are supported by this model.');
  if (!tools.some((t) => t.name === name)) throw invalid('tool_choice.function.name', `tool_choice names "${name}", which is not among the tools.`);
  return withParallel({ type: 'tool', name }, disableParallel);
}

function namedChoice(choice: Exclude<ChatRequest['tool_choice'], string | undefined>): string | undefined {
  if (choice.type !== 'function' || !('function' in choice)) return undefined;
  const fn: unknown = choice.function;
  if (typeof fn !== 'object' || fn === null || !('name' in fn) || typeof fn.name !== 'string') return undefined;
  return fn.name;
}

/** `parallel_tool_calls: false` lives on tool_choice in Anthropic's API. */
function withParallel<T extends Exclude<ToolChoiceParam, { type: 'none' }>>(choice: T, disable: boolean): T {
  return disable ? { ...choice, disable_parallel_tool_use: true } : choice;
}
