import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The leak scan of issue 12: what the gateway must never let out, checked over every response an
 * e2e test client received and every log line an e2e stack wrote.
 *
 * In scope, per surface:
 * - Responses from the public listeners (plaintext and TLS, status + every header + the body
 *   bytes the test read, streams included): no provider key (the simulators' SIM_*_KEY values),
 *   no gateway key (the demo key) and no caller credential the test sent (its own wrong key
 *   echoed back is a leak too); no internal `host:port` (the simulators', the ext_proc's gRPC and
 *   metrics ports, Envoy's admin port; `127.0.0.1` with the public listener ports is what the
 *   client dialled and does not count); no `x-llmx-*` or `x-envoy-*` response header; no stack
 *   trace (`at f (file:line:col)`, `node:internal`, `*.ts:NN`); no Envoy-internal failure detail
 *   (`upstream connect error`, `reset reason`).
 * - Log files of the stack (the ext_proc's JSON log and Envoy's own log): no key or caller
 *   credential, no stack trace. Ports and paths are the operator's own facts and are allowed in
 *   logs. The simulators' logs are not the gateway's and are out of scope; so are bytes a test
 *   exchanges over raw sockets or from a child process (Python SDK, `npm start`), which never go
 *   through the recording fetch.
 *
 * Secrets shorter than 8 characters are not searched for: a test's `"x"` key would match anywhere.
 */
export interface LeakSecrets {
  /** Values no surface may show, by what they are ("provider key openai-primary", ...). */
  secrets: Map<string, string>;
  /** Loopback ports callers must never learn. */
  internalPorts: number[];
}

export interface RecordedResponse {
  url: string;
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

export interface Leak {
  where: string;
  what: string;
  excerpt: string;
}

const STACK_TRACE: Array<[string, RegExp]> = [
  ['stack frame', /\bat (?:async )?[^\s()]*\s*\(?(?:file:\/\/|node:|\/)[^\s)]*:\d+(?::\d+)?\)?/],
  ['node:internal', /node:internal/],
  ['source position', /[\w-]+\.(?:ts|mts|js|mjs|cjs):\d+/],
];
const ENVOY_DETAIL: Array<[string, RegExp]> = [
  ['Envoy upstream detail', /upstream connect error|reset reason:|transport failure reason/i],
];
const MIN_SECRET = 8;

function excerpt(text: string, index: number): string {
  return text.slice(Math.max(0, index - 40), index + 60).replace(/\s+/g, ' ');
}

function findSecrets(text: string, s: LeakSecrets, where: string, out: Leak[]): void {
  for (const [what, value] of s.secrets) {
    if (value.length < MIN_SECRET) continue;
    const i = text.indexOf(value);
    if (i >= 0) out.push({ where, what, excerpt: excerpt(text, i) });
  }
}

function findPatterns(text: string, patterns: Array<[string, RegExp]>, where: string, out: Leak[]): void {
  for (const [what, re] of patterns) {
    const m = re.exec(text);
    if (m) out.push({ where, what, excerpt: excerpt(text, m.index) });
  }
}

function internalAddress(ports: number[]): RegExp | undefined {
  if (ports.length === 0) return undefined;
  return new RegExp(`(?:127\\.0\\.0\\.1|localhost|\\[?::1\\]?|0\\.0\\.0\\.0)(?::|%3A)(?:${ports.join('|')})(?!\\d)`, 'i');
}

/** Leaks in one response; `where` names it in the report. */
export function scanResponse(r: RecordedResponse, s: LeakSecrets): Leak[] {
  const out: Leak[] = [];
  const where = `response ${r.status} ${r.url}`;
  for (const [name] of r.headers) {
    if (/^x-(?:llmx|envoy)-/i.test(name)) out.push({ where, what: `internal header ${name}`, excerpt: name });
  }
  const text = `${r.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.body}`;
  findSecrets(text, s, where, out);
  const addr = internalAddress(s.internalPorts);
  if (addr) findPatterns(text, [['internal host:port', addr]], where, out);
  findPatterns(text, [...STACK_TRACE, ...ENVOY_DETAIL], where, out);
  return out;
}

/** Leaks in one log line; `where` names the file and line. */
export function scanLogLine(line: string, where: string, s: LeakSecrets): Leak[] {
  const out: Leak[] = [];
  findSecrets(line, s, where, out);
  findPatterns(line, STACK_TRACE, where, out);
  return out;
}

/** Counts of one stack's scan, written for the suite's summary. */
export interface ScanCounts {
  file: string;
  responses: number;
  responseBytes: number;
  logFiles: number;
  logLines: number;
  secrets: number;
  internalPorts: number;
  leaks: number;
}

/**
 * Where each e2e file's stacks drop their counts: one directory per `node --test` run (every
 * test file is a child of the same runner process, so they share its pid as parent pid).
 */
export function summaryDir(): string {
  return path.join(tmpdir(), `llmx-leak-scan-${process.ppid}`);
}

export function writeCounts(c: ScanCounts): void {
  const dir = summaryDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.json`), JSON.stringify(c));
}

export function readCounts(): ScanCounts[] {
  let names: string[] = [];
  try {
    names = readdirSync(summaryDir());
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(path.join(summaryDir(), n), 'utf8')) as ScanCounts);
}

export function describeLeaks(leaks: Leak[]): string {
  return leaks.map((l) => `  ${l.what} in ${l.where}: …${l.excerpt}…`).join('\n');
}
