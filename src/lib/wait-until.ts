/**
 * Polls `check` every 50 ms until it resolves true; throws after `timeoutMs`, or at once when
 * `died` settles (the process being waited for exited).
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, died?: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void died?.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${what}: the process exited before it was ready`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}
