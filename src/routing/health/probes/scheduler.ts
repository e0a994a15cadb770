import type { RuntimeConfig } from '../../../config/runtime.ts';
import type { TargetHealthSnapshot, TargetKey } from '../view.ts';
import type { ProbesConfig } from './probes-schema.ts';

/**
 * Active probes (issue 9, item 7; gateway.yaml `routing.health.probes`, off when absent): keeps
 * idle targets' health figures fresh with one cheap request each, sent through the gateway's own
 * Envoy listener like any request (send.ts), so it takes the egress allowlist, TLS and the
 * provider clusters, and is recorded in health as any attempt is.
 *
 * Rules, per target (`provider/model`):
 * - **idle only**: probed when nothing was recorded for it (and no probe started) for at least
 *   `intervalMs`; a target real traffic keeps measured costs no probe. A target never recorded
 *   counts as idle from when probes were turned on, so starting the gateway sends no burst.
 * - **one in flight**: a target whose probe has not ended gets no other.
 * - **breakers**: an open target is not probed (it waits out its open period). A half-open one
 *   is: the router asks the breaker's `tryProbe` for it like for a caller's request, so the
 *   probe takes the one half-open probe when it is free (and its outcome closes or reopens the
 *   breaker), and is refused without going upstream when a caller's request holds it.
 * Checked every `intervalMs / 4` (at least 250 ms), so a target is probed within 1.25 ×
 * `intervalMs` of its last attempt. The timer does not keep the process alive.
 */

/** A target to probe, and a public model name that has it (what the probe asks for). */
export interface ProbeTarget {
  readonly key: TargetKey;
  readonly model: string;
}

/** How a probe ended: answered 2xx, answered otherwise, Envoy not reachable, or refused (a half-open probe held by a caller). */
export type ProbeOutcome = 'ok' | 'error' | 'unreachable' | 'not_granted';

/** What the scheduler reads of health: the breaker, and when the target's last attempt was recorded. */
export interface ProbeHealth {
  get(key: TargetKey, nowMs: number): TargetHealthSnapshot;
  /** Epoch ms of the last recorded attempt of `key`; undefined when none is tracked. */
  lastRecordedMs(key: TargetKey): number | undefined;
}

export type SendProbe = (target: ProbeTarget, config: ProbesConfig, signal: AbortSignal) => Promise<ProbeOutcome>;

export interface ActiveProbesOptions {
  readonly health: ProbeHealth;
  readonly send: SendProbe;
  /** Each probe's outcome (metrics, logs). Should not throw. */
  readonly onOutcome?: (target: ProbeTarget, outcome: ProbeOutcome) => void;
  /** Epoch ms; Date.now by default (tests pass their clock). */
  readonly now?: () => number;
  /** Whether configure() starts a timer (tests call tick() themselves). Default true. */
  readonly timer?: boolean;
}

/** Each target of the config once (models, not aliases: an alias has its model's targets), with the first model that has it. */
export function probeTargetsOf(config: Pick<RuntimeConfig, 'models'>): ProbeTarget[] {
  const out = new Map<TargetKey, ProbeTarget>();
  for (const model of config.models.values()) for (const t of model.targets) if (!out.has(t.key)) out.set(t.key, Object.freeze({ key: t.key, model: model.name }));
  return [...out.values()];
}

export class ActiveProbes {
  private config: ProbesConfig | undefined;
  private targets: readonly ProbeTarget[] = [];
  private timer: NodeJS.Timeout | undefined;
  private periodMs = 0;
  /** When probes were turned on: a target never recorded is idle since then. */
  private sinceMs = 0;
  private readonly lastProbeMs = new Map<TargetKey, number>();
  private readonly inFlight = new Map<TargetKey, AbortController>();
  private readonly now: () => number;

  constructor(private readonly opts: ActiveProbesOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Applies `routing.health.probes` and the config's targets (at start and on every reload):
   * undefined stops the timer (probes in flight finish); a config starts or re-times it.
   * Targets no longer configured are forgotten.
   */
  configure(config: ProbesConfig | undefined, targets: readonly ProbeTarget[]): void {
    const wasOn = this.config !== undefined;
    this.config = config;
    this.targets = targets;
    const keys = new Set(targets.map((t) => t.key));
    for (const key of this.lastProbeMs.keys()) if (!keys.has(key)) this.lastProbeMs.delete(key);
    if (config === undefined) {
      this.clearTimer();
      return;
    }
    if (!wasOn) this.sinceMs = this.now();
    const period = Math.max(250, Math.floor(config.intervalMs / 4));
    if (this.opts.timer !== false && (this.timer === undefined || period !== this.periodMs)) {
      this.clearTimer();
      this.periodMs = period;
      this.timer = setInterval(() => this.tick(), period);
      this.timer.unref();
    }
  }

  /** Whether probes are on. */
  get enabled(): boolean {
    return this.config !== undefined;
  }

  /** Probes in flight now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Starts the probes due at `nowMs`; returns their targets. Never throws (a failed send is an outcome). */
  tick(nowMs: number = this.now()): ProbeTarget[] {
    const config = this.config;
    if (config === undefined) return [];
    const started: ProbeTarget[] = [];
    for (const target of this.targets) {
      if (this.inFlight.has(target.key)) continue;
      const last = Math.max(this.opts.health.lastRecordedMs(target.key) ?? this.sinceMs, this.lastProbeMs.get(target.key) ?? this.sinceMs, this.sinceMs);
      if (nowMs - last <= config.intervalMs) continue;
      if (this.opts.health.get(target.key, nowMs).breaker === 'open') continue;
      this.start(target, config, nowMs);
      started.push(target);
    }
    return started;
  }

  /** Stops the timer and aborts the probes in flight (gateway stop). */
  stop(): void {
    this.config = undefined;
    this.clearTimer();
    for (const c of this.inFlight.values()) c.abort();
  }

  private start(target: ProbeTarget, config: ProbesConfig, nowMs: number): void {
    const controller = new AbortController();
    this.inFlight.set(target.key, controller);
    this.lastProbeMs.set(target.key, nowMs);
    const done = (outcome: ProbeOutcome): void => {
      if (this.inFlight.get(target.key) === controller) this.inFlight.delete(target.key);
      if (!controller.signal.aborted) this.opts.onOutcome?.(target, outcome);
    };
    let sent: Promise<ProbeOutcome>;
    try {
      sent = this.opts.send(target, config, controller.signal);
    } catch {
      sent = Promise.resolve('unreachable');
    }
    sent.then(done, () => done('unreachable'));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.periodMs = 0;
  }
}
