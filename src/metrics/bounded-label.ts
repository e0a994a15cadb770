/**
 * A label whose values come from configuration but are not fixed at start (a team: gateway.yaml's
 * keys name some, keys created through the admin API may name others). The first `max` distinct
 * values are kept as they are; later new ones become `overflow`, so a run of created keys cannot
 * mint unbounded series. Values are already plain identifiers (config/keys-schema.ts `label`).
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    /** Distinct values kept, per process. */
    readonly max: number,
    readonly overflow: string = '_other',
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`BoundedLabel max must be a positive integer, got ${max}`);
  }

  /** The label value for `value`: itself while fewer than `max` distinct values were seen (or it was one of them), else `overflow`. */
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return this.overflow;
    this.seen.add(value);
    return value;
  }
}
