import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { DEMO_PROVIDERS, startStack, type Stack, type StackOptions } from '../../src/cli/stack.ts';
import { describeLeaks, scanLogLine, scanResponse, writeCounts, type Leak, type LeakSecrets } from './leak-scan.ts';
import { recordingFetch, startRecording, stopRecording } from './response-recorder.ts';
import { withNeutralHealth } from './neutral-health.ts';

/** An OpenAI error body, as the gateway answers every refusal. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface TestStack extends Stack {
  /** OpenAI SDK client through the plaintext (sidecar) listener. */
  client(opts?: { apiKey?: string; tls?: boolean }): OpenAI;
  /** Raw HTTP through the plaintext listener, for what the SDK would refuse to send. */
  raw(pathname: string, init?: RequestInit): Promise<Response>;
  /** Parsed JSON lines the ext_proc service has logged so far. */
  logLines(): Array<Record<string, unknown>>;
  /**
   * The request's log line, waited for (up to 5 s: it is written when Envoy closes the ext_proc
   * stream, just after the response). `id` is the response's x-request-id, or with
   * `field: 'client_request_id'` the id the caller sent; fails when there is none.
   */
  requestLog(id: string | null | undefined, field?: 'request_id' | 'client_request_id'): Promise<Record<string, unknown>>;
  /** POSTs `body` as is to /v1/chat/completions with the demo key; the status and the JSON answer. */
  postChat(body: string): Promise<{ status: number; json: ErrorBody }>;
  /** Sum of the ext_proc's Prometheus series `name` whose labels include `labels` (GET /metrics). */
  metric(name: string, labels: Record<string, string>): Promise<number>;
  /** Stops everything, then fails if the leak scan (test/support/leak-scan.ts) found anything. */
  dispose(): Promise<void>;
}

/**
 * A whole gateway (real Envoy, real ext_proc process, simulated providers) in a temp dir; without
 * `configFile`, the demo config with neutral target health (neutral-health.ts). Every
 * response its listeners give a fetch in this process is recorded; `dispose()` scans those and
 * the stack's log files for leaks.
 */
export async function startTestStack(opts: StackOptions = {}): Promise<TestStack> {
  const runDir = mkdtempSync(path.join(tmpdir(), 'llmx-e2e-'));
  // Provider keys chosen here (unless the test chose them) so the scan knows what to look for.
  const simKeys = Object.fromEntries(DEMO_PROVIDERS.map((p) => [p.keyEnv, `sim-${p.cluster}-${randomBytes(12).toString('hex')}`]));
  const env = { ...simKeys, ...opts.env };
  // The supervisor's lines (crash, restart) go where the test or stack sends them and to a log file the scan reads.
  const say = opts.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  const log = (line: string): void => {
    say(line);
    try {
      appendFileSync(path.join(runDir, 'supervisor.log'), `${line}\n`);
    } catch {
      // the run dir is gone after dispose(); a late line is not the scan's
    }
  };
  // The demo config, unless the test brings its own, with target health that never reroutes
  // (neutral-health.ts): one test's injected faults must not move the next test's requests.
  const configFile = opts.configFile ?? withNeutralHealth(runDir);
  const stack = await startStack({ runDir, logToFiles: true, envoyConcurrency: 1, ...opts, configFile, env, log });
  const recorder = startRecording([stack.httpUrl, stack.httpsUrl]);
  const ca = readFileSync(stack.certs.caCert);
  const tlsAgent = new Agent({ connect: { ca } });
  let disposed = false;
  const test: TestStack = Object.assign(stack, {
    client(o: { apiKey?: string; tls?: boolean } = {}): OpenAI {
      return new OpenAI({
        apiKey: o.apiKey ?? stack.demoKey,
        baseURL: `${o.tls ? stack.httpsUrl : stack.httpUrl}/v1`,
        maxRetries: 0,
        timeout: 30_000,
        ...(o.tls
          ? { fetch: recordingFetch(((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher: tlsAgent })) as unknown as typeof fetch) }
          : {}),
      });
    },
    raw(pathname: string, init: RequestInit = {}): Promise<Response> {
      return fetch(`${stack.httpUrl}${pathname}`, init);
    },
    logLines(): Array<Record<string, unknown>> {
      let text = '';
      try {
        text = readFileSync(path.join(runDir, 'extproc.log'), 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async requestLog(id: string | null | undefined, field: 'request_id' | 'client_request_id' = 'request_id'): Promise<Record<string, unknown>> {
      if (!id) throw new Error(`the response carries no ${field === 'request_id' ? 'x-request-id' : 'client request id'}`);
      for (let i = 0; i < 100; i++) {
        const line = test.logLines().find((l) => l['msg'] === 'request' && l[field] === id);
        if (line) return line;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no log line for ${field} ${id}`);
    },
    async postChat(body: string): Promise<{ status: number; json: ErrorBody }> {
      const res = await test.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(stack), body });
      return { status: res.status, json: JSON.parse(await res.text()) as ErrorBody };
    },
    async metric(name: string, labels: Record<string, string>): Promise<number> {
      const text = await (await fetch(`http://127.0.0.1:${stack.metricsPort}/metrics`)).text();
      let sum = 0;
      for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
        const have = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[2]);
      }
      return sum;
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      stopRecording(recorder);
      await stack.stop();
      await tlsAgent.close();
      const secrets: LeakSecrets = {
        secrets: new Map([
          ...DEMO_PROVIDERS.map((p): [string, string] => [`provider key ${p.cluster}`, String(env[p.keyEnv])]),
          ['gateway demo key', stack.demoKey],
          ['gateway admin key', stack.adminApiKey],
          ...[...recorder.credentials].map((c, i): [string, string] => [`caller credential #${i + 1}`, c]),
        ]),
        internalPorts: [
          ...Object.values(stack.sims).map((s) => s.port),
          ...(stack.extprocPort ? [stack.extprocPort] : []), // 0: a Unix socket (extprocSocket)
          stack.metricsPort,
          Number(new URL(stack.adminApiUrl).port),
          Number(new URL(stack.adminUrl).port),
        ],
      };
      const leaks: Leak[] = recorder.responses.flatMap((r) => scanResponse(r, secrets));
      const logs = readdirSync(runDir).filter((f) => f.endsWith('.log'));
      let logLines = 0;
      for (const f of logs) {
        readFileSync(path.join(runDir, f), 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (!line) return;
            logLines++;
            leaks.push(...scanLogLine(line, `${f}:${i + 1}`, secrets));
          });
      }
      writeCounts({
        file: path.basename(process.argv[1] ?? '?'),
        responses: recorder.responses.length,
        responseBytes: recorder.responses.reduce((n, r) => n + r.body.length, 0),
        logFiles: logs.length,
        logLines,
        secrets: secrets.secrets.size,
        internalPorts: secrets.internalPorts.length,
        leaks: leaks.length,
      });
      if (!process.env.KEEP_E2E_DIRS) rmSync(runDir, { recursive: true, force: true });
      if (leaks.length > 0) throw new Error(`leak scan: ${leaks.length} leak(s)\n${describeLeaks(leaks.slice(0, 20))}`);
    },
  });
  return test;
}

export function authHeaders(stack: Stack, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${stack.demoKey}`, 'content-type': 'application/json', ...extra };
}

export const hello = [{ role: 'user' as const, content: 'Hello there' }];

/** gateway.yaml's `providers:` block for the test stack's four simulated providers (their keys come from its env). */
export const SIM_PROVIDERS_YAML = `providers:
  openai-primary: { dialect: openai, apiKeyEnv: SIM_OPENAI_PRIMARY_KEY }
  openai-backup: { dialect: openai, apiKeyEnv: SIM_OPENAI_BACKUP_KEY }
  anthropic: { dialect: anthropic, apiKeyEnv: SIM_ANTHROPIC_KEY }
  gemini: { dialect: gemini, apiKeyEnv: SIM_GEMINI_KEY }
`;
