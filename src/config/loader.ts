import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { formatJsonPath } from '../lib/json-path.ts';
import { ConfigError } from './errors.ts';
import { buildRuntimeConfig, type RuntimeConfig } from './runtime.ts';
import { gatewayConfigSchema } from './schema.ts';

/** Problems named one by one in a ConfigError; beyond this many, the rest are counted. */
const MAX_NAMED_PROBLEMS = 8;

/** One schema problem as an operator reads it: the key path, its line in the file when known, and what was expected. */
function describeIssue(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter): { where: string; problem: string; line: number | undefined } {
  // A bad record key (a provider name, say): the key's own rule says what was expected.
  const problem = issue.code === 'invalid_key' && issue.issues[0] ? `invalid name: ${issue.issues[0].message}` : issue.message;
  return { where: formatJsonPath(issue.path), problem, line: lineOf(doc, lines, issue.path) };
}

/** The 1-based line of the node at `path` (or of its nearest present parent: a missing key's parent). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n) as Array<string | number>, true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Reads, parses and validates a gateway.yaml; throws ConfigError with file, path (and line) and
 * expectation: the first schema problem in `where`, every other one (up to 8) in the message.
 */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv, version: number): RuntimeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    throw new ConfigError(file, line ? `line ${line.line}, column ${line.col}` : '', `invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const parsed = gatewayConfigSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    // Every problem, not only the first: an operator fixes the file once, not once per problem.
    const issues = parsed.error.issues;
    const [first, ...rest] = issues.slice(0, MAX_NAMED_PROBLEMS).map((i) => describeIssue(i, doc, lineCounter));
    const also = rest.map((r) => `; also ${r.line === undefined ? '' : `line ${r.line}, `}${r.where ? `${r.where}: ` : ''}${r.problem}`).join('');
    const more = issues.length > MAX_NAMED_PROBLEMS ? ` (and ${issues.length - MAX_NAMED_PROBLEMS} more problem(s))` : '';
    throw new ConfigError(file, first!.where, first!.problem + also + more, first!.line);
  }
  return buildRuntimeConfig(parsed.data, file, env, version);
}
