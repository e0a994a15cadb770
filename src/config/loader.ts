import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatJsonPath } from '../lib/json-path.ts';
import { ConfigError } from './errors.ts';
import { buildRuntimeConfig, type RuntimeConfig } from './runtime.ts';
import { gatewayConfigSchema } from './schema.ts';

function firstIssue(error: z.ZodError): { where: string; problem: string } {
  const issue = error.issues[0]!;
  // A bad record key (a provider name, say): the key's own rule says what was expected.
  const problem = issue.code === 'invalid_key' && issue.issues[0] ? `invalid name: ${issue.issues[0].message}` : issue.message;
  return { where: formatJsonPath(issue.path), problem };
}

/** Reads, parses and validates a gateway.yaml; throws ConfigError with file, path and expectation. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv, version: number): RuntimeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    throw new ConfigError(file, line ? `line ${line.line}, column ${line.col}` : '', `invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const parsed = gatewayConfigSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const { where, problem } = firstIssue(parsed.error);
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem(s))` : '';
    throw new ConfigError(file, where, problem + more);
  }
  return buildRuntimeConfig(parsed.data, file, env, version);
}
