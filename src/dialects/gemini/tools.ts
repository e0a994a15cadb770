import { z } from 'zod';
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import { functionToolSchema, type ChatRequest } from '../../openai/chat-request.ts';
import { cleanSchema } from './schema-clean.ts';
import type { GeminiFunctionDeclaration, GeminiRequest, GeminiToolConfig } from './wire-types.ts';

/**
 * OpenAI `tools` / `tool_choice` → Gemini `tools[].functionDeclarations` / `toolConfig`
 * (https://ai.google.dev/gemini-api/docs/function-calling#function_calling_modes).
 * Parameters go in `parametersJsonSchema` (JSON Schema) rather than `parameters` (an OpenAPI
 * subset with upper-case types), as the wire fixtures expect.
 */

const namedChoice = z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) });
const allowedToolsChoice = z.looseObject({
  type: z.literal('allowed_tools'),
  allowed_tools: z.looseObject({
    mode: z.enum(['auto', 'required']),
    tools: z.array(z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })).min(1),
  }),
});

function declarations(req: ChatRequest): GeminiFunctionDeclaration[] {
  const seen = new Set<string>();
  return (req.tools ?? []).map((tool, i) => {
    if (tool.type !== 'function') {
      throw new InvalidRequestError(`Tool type "${tool.type}" is not supported by this model.`, { param: `tools[${i}].type` });
    }
    const parsed = functionToolSchema.safeParse(tool);
    if (!parsed.success) throw new InvalidRequestError('Invalid function tool.', { param: `tools[${i}].function` });
    const fn = parsed.data.function;
    if (seen.has(fn.name)) {
      throw new InvalidRequestError(`Duplicate function name "${fn.name}".`, { param: `tools[${i}].function.name` });
    }
    seen.add(fn.name);
    const decl: GeminiFunctionDeclaration = { name: fn.name };
    if (fn.description !== undefined) decl.description = fn.description;
    if (fn.parameters !== undefined) {
      const schema = cleanSchema(fn.parameters, `tools[${i}].function.parameters`);
      // Gemini requires the parameters schema to describe an object; OpenAI implies it.
      decl.parametersJsonSchema = 'type' in schema ? schema : { type: 'object', ...schema };
    }
    return decl;
  });
}

function requireDeclared(names: string[], declared: GeminiFunctionDeclaration[], param: string): void {
  for (const name of names) {
    if (!declared.some((d) => d.name === name)) {
      throw new InvalidRequestError(`tool_choice names "${name}", which is not in tools.`, { param });
    }
  }
}

/** Throws InvalidRequestError for non-function tools and tool choices that name unknown functions. */
export function translateTools(req: ChatRequest): Pick<GeminiRequest, 'tools' | 'toolConfig'> {
  let declared = declarations(req);
  const choice = req.tool_choice;
  let toolConfig: GeminiToolConfig | undefined;
  if (choice === 'auto' || choice === 'none') {
    if (declared.length > 0) toolConfig = { functionCallingConfig: { mode: choice === 'auto' ? 'AUTO' : 'NONE' } };
  } else if (choice !== undefined) {
    if (declared.length === 0) throw new InvalidRequestError('tool_choice requires tools.', { param: 'tool_choice' });
    const named = namedChoice.safeParse(choice);
    const allowed = allowedToolsChoice.safeParse(choice);
    if (choice === 'required') {
      toolConfig = { functionCallingConfig: { mode: 'ANY' } };
    } else if (named.success) {
      const name = named.data.function.name;
      requireDeclared([name], declared, 'tool_choice.function.name');
      toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
    } else if (allowed.success) {
      // allowedFunctionNames is only honoured with ANY, so the restriction is applied by
      // declaring just the allowed functions, which works for both modes.
      const names = allowed.data.allowed_tools.tools.map((t) => t.function.name);
      requireDeclared(names, declared, 'tool_choice.allowed_tools.tools');
      declared = declared.filter((d) => names.includes(d.name));
      toolConfig = { functionCallingConfig: { mode: allowed.data.allowed_tools.mode === 'required' ? 'ANY' : 'AUTO' } };
    } else {
      throw new InvalidRequestError('This tool_choice is not supported by this model.', { param: 'tool_choice' });
    }
  }
  const out: Pick<GeminiRequest, 'tools' | 'toolConfig'> = {};
  if (declared.length > 0) out.tools = [{ functionDeclarations: declared }];
  if (toolConfig) out.toolConfig = toolConfig;
  return out;
}
