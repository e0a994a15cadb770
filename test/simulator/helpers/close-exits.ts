// Child process for lifecycle.test.ts: after close() the event loop must drain by itself.
import { startSimProvider } from '../../../src/simulator/index.ts';
import { makeCert, postH2 } from './client.ts';

const pems = await makeCert();
const plain = await startSimProvider({ format: 'openai' });
const secure = await startSimProvider({ format: 'gemini', tls: pems });
const chat = `${plain.url}/v1/chat/completions`;
const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
const slow = { 'content-type': 'application/json', 'x-sim-fault': JSON.stringify({ chunkDelayMs: 60_000 }) };

await (await fetch(chat, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text();
const hanging = fetch(chat, { method: 'POST', headers: slow, body }).then(
  (r) => r.text().then(() => 'ended', () => 'reset'),
  () => 'failed',
);
const waiting = fetch(chat, { method: 'POST', headers: { ...slow, 'x-sim-fault': '{"latencyMs":60000}' }, body }).then(
  () => 'answered',
  () => 'failed',
);
const hangingH2 = postH2(`${secure.url}/v1beta/models/g:streamGenerateContent?alt=sse`, { contents: [{ parts: [{ text: 'hi' }] }] }, pems.cert, {
  'x-sim-fault': JSON.stringify({ chunkDelayMs: 60_000 }),
});
await new Promise((resolve) => setTimeout(resolve, 300));
const t0 = Date.now();
await Promise.all([plain.close(), secure.close()]);
const outcomes = await Promise.all([hanging, waiting, hangingH2.then((r) => (r.error === undefined ? 'ended' : 'reset'))]);
process.stdout.write(`${JSON.stringify({ closeMs: Date.now() - t0, outcomes })}\n`);
