import { describeExit, type ManagedChild } from './child.ts';

/** Restart timing: exponential back-off from `initialMs`, capped at `maxMs`. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A child that served this long before it died is restarted from `initialMs` again. */
  healthyAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 15_000, healthyAfterMs: 30_000 };

/** Delay in ms before restart number `n` (1-based, counted since the last healthy period). */
export function restartDelayMs(n: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, n - 1));
}

export type SupervisedState = 'serving' | 'restarting' | 'stopped';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s`;
}

/**
 * Keeps one child process serving: when it dies without being asked to, says so in one line
 * (with its exit code or signal) and starts it again after a back-off, until stop(). `launch`
 * starts the child and resolves once it is ready, or rejects (having stopped it) when it is not.
 */
export class Supervisor {
  private child: ManagedChild | undefined;
  private launching: Promise<ManagedChild> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = true;
  private restarts = 0;
  private readyAt = 0;
  private _state: SupervisedState = 'stopped';

  constructor(
    private readonly name: string,
    private readonly launch: () => Promise<ManagedChild>,
    private readonly log: (line: string) => void,
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
  ) {}

  get current(): ManagedChild | undefined {
    return this.child;
  }

  get state(): SupervisedState {
    return this._state;
  }

  /**
   * Starts the child (with `first` instead of `launch` for this once, e.g. to pick another port
   * on a clash); a failure to start is the caller's (thrown), not retried.
   */
  async start(first: () => Promise<ManagedChild> = this.launch): Promise<void> {
    this.stopping = false;
    this.restarts = 0;
    this.adopt(await this.launchOnce(first));
  }

  /**
   * From now on an exit is not a crash (e.g. Ctrl-C, which the child gets from the terminal
   * too, while everything else is being stopped first): no report, no restart.
   */
  stopRestarting(): void {
    this.stopping = true;
    clearTimeout(this.timer);
  }

  /** Stops the child on purpose: no restart. */
  async stop(): Promise<void> {
    this.stopRestarting();
    this._state = 'stopped';
    const pending = await this.launching?.catch(() => undefined);
    await pending?.stop();
    await this.child?.stop();
  }

  private async launchOnce(launch: () => Promise<ManagedChild> = this.launch): Promise<ManagedChild> {
    this.launching = launch();
    try {
      return await this.launching;
    } finally {
      this.launching = undefined;
    }
  }

  private adopt(child: ManagedChild): void {
    this.child = child;
    this._state = 'serving';
    this.readyAt = Date.now();
    void child.exitStatus.then((status) => {
      if (this.stopping || this.child !== child) return;
      if (Date.now() - this.readyAt >= this.policy.healthyAfterMs) this.restarts = 0;
      this.restarts++;
      const delay = restartDelayMs(this.restarts, this.policy);
      this.log(
        `${this.name} (pid ${String(child.process.pid)}) died: ${describeExit(status)}. ` +
          `Restarting in ${seconds(delay)} (restart ${this.restarts}); requests fail closed with 503 until it is back.`,
      );
      this.scheduleRestart(delay);
    });
  }

  private scheduleRestart(delay: number): void {
    this._state = 'restarting';
    this.timer = setTimeout(() => {
      if (this.stopping) return;
      this.launchOnce().then(
        async (child) => {
          if (this.stopping) return child.stop();
          this.log(`${this.name} restarted (pid ${String(child.process.pid)}) and serving again after restart ${this.restarts}.`);
          this.adopt(child);
        },
        (err: unknown) => {
          if (this.stopping) return;
          this.restarts++;
          const next = restartDelayMs(this.restarts, this.policy);
          this.log(`${this.name} restart failed: ${err instanceof Error ? err.message : String(err)}. Next try in ${seconds(next)} (restart ${this.restarts}).`);
          this.scheduleRestart(next);
        },
      );
    }, delay);
  }
}
