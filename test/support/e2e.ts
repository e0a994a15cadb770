import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { startStack, type Stack, type StackOptions } from '../../src/cli/stack.ts';

export interface TestStack extends Stack {
  /** OpenAI SDK client through the plaintext (sidecar) listener. */
  client(opts?: { apiKey?: string; tls?: boolean }): OpenAI;
  /** Raw HTTP through the plaintext listener, for what the SDK would refuse to send. */
  raw(pathname: string, init?: RequestInit): Promise<Response>;
  /** Parsed JSON lines the ext_proc service has logged so far. */
  logLines(): Array<Record<string, unknown>>;
  dispose(): Promise<void>;
}

/** A whole gateway (real Envoy, real ext_proc process, simulated providers) in a temp dir. */
export async function startTestStack(opts: StackOptions = {}): Promise<TestStack> {
  const runDir = mkdtempSync(path.join(tmpdir(), 'llmx-e2e-'));
  const stack = await startStack({ runDir, logToFiles: true, envoyConcurrency: 1, ...opts });
  const ca = readFileSync(stack.certs.caCert);
  const tlsAgent = new Agent({ connect: { ca } });
  const test: TestStack = Object.assign(stack, {
    client(o: { apiKey?: string; tls?: boolean } = {}): OpenAI {
      return new OpenAI({
        apiKey: o.apiKey ?? stack.demoKey,
        baseURL: `${o.tls ? stack.httpsUrl : stack.httpUrl}/v1`,
        maxRetries: 0,
        timeout: 30_000,
        ...(o.tls
          ? { fetch: ((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher: tlsAgent })) as unknown as typeof fetch }
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
    async dispose(): Promise<void> {
      await stack.stop();
      await tlsAgent.close();
      if (!process.env.KEEP_E2E_DIRS) rmSync(runDir, { recursive: true, force: true });
    },
  });
  return test;
}

export function authHeaders(stack: Stack, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${stack.demoKey}`, 'content-type': 'application/json', ...extra };
}

export const hello = [{ role: 'user' as const, content: 'Hello there' }];
