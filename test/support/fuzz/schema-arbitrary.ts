import fc from 'fast-check';

/**
 * A fast-check arbitrary for the values a JSON Schema (OpenAPI 3.1 flavour, as the OpenAI spec
 * writes it) describes: $ref, allOf (merged), anyOf/oneOf, enum, const (`x-stainless-const`),
 * nullable, object properties/required/additionalProperties, arrays with min/maxItems, scalars
 * with minimum/maximum. Components named in `overrides` are replaced by the given arbitrary
 * (e.g. the model name, or a hostile JSON Schema where the spec allows any object).
 */
type Schema = Record<string, unknown>;

export interface SchemaArbitraryOptions {
  /** `#/components/schemas/NAME` targets. */
  components: Record<string, Schema>;
  overrides?: Record<string, fc.Arbitrary<unknown>>;
  /** $ref levels followed before a value is cut short to null (the spec has recursive types). */
  maxRefDepth?: number;
}

/** Strings as callers send them: mostly short text, sometimes any unicode or lone surrogates. */
export const fuzzString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 1 },
  { arbitrary: fc.constantFrom('\ud800', 'a\udfffb', '\u0000', '\u2028', '🧪'.repeat(3), 'é'.normalize('NFD')), weight: 1 },
);

export function schemaArbitrary(root: Schema, opts: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  const maxRefDepth = opts.maxRefDepth ?? 6;

  function build(schema: Schema, refDepth: number): fc.Arbitrary<unknown> {
    const ref = schema['$ref'];
    if (typeof ref === 'string') {
      const name = ref.slice(ref.lastIndexOf('/') + 1);
      const override = opts.overrides?.[name];
      if (override) return override;
      if (refDepth >= maxRefDepth) return fc.constant(null);
      const target = opts.components[name];
      if (!target) throw new Error(`unknown $ref ${ref}`);
      return build(target, refDepth + 1);
    }
    const base = buildPlain(schema, refDepth);
    return schema['nullable'] === true ? fc.option(base, { nil: null, freq: 8 }) : base;
  }

  function buildPlain(schema: Schema, refDepth: number): fc.Arbitrary<unknown> {
    const constant = schema['x-stainless-const'] === true && Array.isArray(schema['enum']) ? schema['enum'] : undefined;
    if (constant) return fc.constant(constant[0]);
    if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]));
    if (Array.isArray(schema['allOf'])) {
      const parts = (schema['allOf'] as Schema[]).map((s) => build(s, refDepth));
      return fc.tuple(...parts).map((values) => Object.assign({}, ...values.filter((v) => v !== null && typeof v === 'object')));
    }
    const alternatives = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
    if (Array.isArray(alternatives)) return fc.oneof(...alternatives.map((s) => build(s, refDepth)));
    const type = schema['type'];
    if (Array.isArray(type)) return fc.oneof(...type.map((t: unknown) => buildPlain({ ...schema, type: t }, refDepth)));
    switch (type) {
      case 'string':
        return fuzzString;
      case 'integer':
        // Clamped: the spec's int64 bounds (seed) are no safe integers, and fc.integer needs them.
        return fc.integer({ min: Math.max(num(schema['minimum'], -3), -(2 ** 31)), max: Math.min(num(schema['maximum'], 4096), 2 ** 31) });
      case 'number':
        return fc.double({ min: num(schema['minimum'], -3), max: num(schema['maximum'], 3), noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const items = isSchema(schema['items']) ? build(schema['items'], refDepth) : fc.jsonValue({ maxDepth: 1 });
        const minLength = num(schema['minItems'], 0);
        return fc.array(items, { minLength, maxLength: Math.max(minLength, Math.min(num(schema['maxItems'], 3), 3)) });
      }
      default:
        return buildObject(schema, refDepth);
    }
  }

  function buildObject(schema: Schema, refDepth: number): fc.Arbitrary<unknown> {
    const properties = isSchema(schema['properties']) ? (schema['properties'] as Record<string, Schema>) : undefined;
    if (properties) {
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, sub] of Object.entries(properties)) record[name] = build(sub, refDepth);
      const required = Array.isArray(schema['required']) ? (schema['required'] as string[]).filter((k) => k in record) : [];
      return fc.record(record, { requiredKeys: required });
    }
    if (isSchema(schema['additionalProperties'])) {
      return fc.dictionary(fuzzString, build(schema['additionalProperties'], refDepth), { maxKeys: 3 });
    }
    return fc.jsonValue({ maxDepth: 2 });
  }

  return build(root, 0);
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
