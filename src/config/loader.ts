import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { formatJsonPath } from '../lib/json-path.ts';
import { ConfigError } from './errors.ts';
import { buildRuntimeConfig, type RuntimeConfig } from './runtime.ts';
import { gatewayConfigSchema, type GatewayConfigFile } from './schema.ts';

/** Problems named one by one in a ConfigError; beyond this many, the rest are counted. */
const MAX_NAMED_PROBLEMS = 8;

/** One schema problem as an operator reads it: the key path, its line in the file when known, and what was expected. */
function describeIssue(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter): { where: string; problem: string; line: number | undefined } {
  // A bad record key (a provider name, say): the key's own rule says what was expected.
  let problem = issue.code === 'invalid_key' && issue.issues[0] ? `invalid name: ${issue.issues[0].message}` : issue.message;
  // zod's "Invalid input: expected record, received undefined" for a section left out.
  if (issue.code === 'invalid_type' && problem.endsWith('received undefined')) problem = `missing (expected ${issue.expected})`;
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
  return readAndBuild(file, env, version).config;
}

/**
 * readConfigFile, then buildRuntimeConfig (the checks across sections: unknown providers,
 * weights, aliases, prices…). Those name a path; the line it is on is added here, where the
 * file's text is at hand. Throws ConfigError as loadConfigFile.
 */
export function readAndBuild(file: string, env: NodeJS.ProcessEnv, version: number): { parsed: GatewayConfigFile; config: RuntimeConfig } {
  const parsed = readConfigFile(file);
  try {
    return { parsed, config: buildRuntimeConfig(parsed, file, env, version) };
  } catch (err) {
    if (!(err instanceof ConfigError) || err.line !== undefined || err.where === '') throw err;
    const line = lineOfWhere(file, err.where);
    throw line === undefined ? err : new ConfigError(err.file, err.where, err.problem, line);
  }
}

/**
 * The line of a formatted path (`models.gpt-4.1.targets[1].provider`) in the file: keys are
 * matched against the file's own (a model name may hold dots), longest first.
 */
function lineOfWhere(file: string, where: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const path: Array<string | number> = [];
  let rest = where;
  while (rest !== '') {
    const index = /^\[(\d+)\]/.exec(rest);
    if (index) {
      path.push(Number(index[1]));
      rest = rest.slice(index[0].length);
    } else {
      const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
      const keys = isMap(node) ? node.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key)) : [];
      const key = keys.filter((k) => rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`)).sort((a, b) => b.length - a.length)[0];
      if (key === undefined) break;
      path.push(key);
      rest = rest.slice(key.length).replace(/^\./, '');
    }
  }
  return path.length === 0 ? undefined : lineOf(doc, lines, path);
}

/**
 * Reads, parses and validates a gateway.yaml into its schema's output, not yet compiled (what
 * ConfigStore keeps to build the config again on a new price table); throws as loadConfigFile.
 */
export function readConfigFile(file: string): GatewayConfigFile {
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
  return parsed.data;
}
