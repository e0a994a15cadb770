import { costOf } from './cost.ts';
import { effectiveRates } from './live-prices.ts';
import type { Price } from './types.ts';

/**
 * What a steady workload costs at one target over a month (30 days), with time-of-day prices
 * applied hour by hour: the requests of a day are spread evenly over the hours it runs, and an
 * hour's price per request is the mean over its 60 minutes (a window may start at :30), each
 * minute priced as costOf prices a request that starts then. USD throughout.
 */

export const DAYS_PER_MONTH = 30;

export interface Workload {
  readonly requestsPerDay: number;
  /** Prompt tokens per request, cached ones included. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Share of the prompt tokens read from the provider's cache, 0..1. */
  readonly cachedInputShare: number;
  /** UTC hours (0..23) the workload runs in, distinct; its requests spread evenly over them. */
  readonly hours: readonly number[];
}

/** Consecutive hours at one price per request. */
export interface PriceBand {
  /** UTC hours, `fromHourUtc` inclusive, `toHourUtc` exclusive (24: midnight). */
  readonly fromHourUtc: number;
  readonly toHourUtc: number;
  readonly usdPerRequest: number;
  /** USD per million tokens in force at the band's first minute (after any multiplier window). */
  readonly input: number;
  readonly cachedInput: number;
  readonly output: number;
}

export interface TargetEstimate {
  readonly monthlyUsd: number;
  readonly dailyUsd: number;
  /** The mean over the workload's requests. */
  readonly usdPerRequest: number;
  readonly bands: readonly PriceBand[];
}

const HOUR_MS = 3_600_000;
const tidy = (n: number): number => Number(n.toPrecision(12));

/** `dayStartMs`: a UTC midnight (epoch ms); start-date prices apply as of that day. */
export function estimateTarget(price: Price, w: Workload, dayStartMs: number): TargetEstimate {
  const cached = Math.round(w.inputTokens * w.cachedInputShare);
  const usage = { promptTokens: w.inputTokens, completionTokens: w.outputTokens, cachedTokens: cached };
  const hours = [...w.hours].sort((a, b) => a - b);
  const perHour = hours.map((h) => {
    let sum = 0;
    for (let m = 0; m < 60; m++) sum += costOf(price, usage, dayStartMs + h * HOUR_MS + m * 60_000).usd;
    return sum / 60;
  });
  const bands: PriceBand[] = [];
  hours.forEach((h, i) => {
    const last = bands[bands.length - 1];
    if (last && last.toHourUtc === h && last.usdPerRequest === tidy(perHour[i]!)) {
      bands[bands.length - 1] = { ...last, toHourUtc: h + 1 };
      return;
    }
    const r = effectiveRates(price, dayStartMs + h * HOUR_MS);
    bands.push({ fromHourUtc: h, toHourUtc: h + 1, usdPerRequest: tidy(perHour[i]!), input: r.input, cachedInput: r.cachedInput, output: r.output });
  });
  const requestsPerHour = w.requestsPerDay / hours.length;
  const daily = perHour.reduce((s, c) => s + c * requestsPerHour, 0);
  return {
    monthlyUsd: tidy(daily * DAYS_PER_MONTH),
    dailyUsd: tidy(daily),
    usdPerRequest: tidy(perHour.reduce((s, c) => s + c, 0) / hours.length),
    bands,
  };
}
