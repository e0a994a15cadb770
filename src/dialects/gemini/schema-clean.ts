import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { JsonObject } from './wire-types.ts';

/**
 * Reduces a caller's JSON Schema to what Gemini's `parametersJsonSchema` /
 * `responseJsonSchema` accept. Gemini documents a keyword subset
 * (https://ai.google.dev/api/generate-content#FIELDS.response_json_schema):
 * $id, $defs, $ref, $anchor, type, format, title, description, enum, items, prefixItems,
 * minItems, maxItems, minimum, maximum, anyOf, oneOf, properties, additionalProperties,
 * required, propertyOrdering. Everything else is dropped (they are validation hints the model
 * does not need to produce a valid call), `const` becomes a one-value `enum`, `allOf` is merged,
 * and local `$ref`s are inlined: Gemini only unrolls cycles "to a limited degree" and older
 * models reject `$ref` outright, so a cycle or a non-local reference is refused with a 400.
 */

const KEPT = new Set([
  'type', 'format', 'title', 'description', 'enum', 'items', 'prefixItems', 'minItems', 'maxItems',
  'minimum', 'maximum', 'anyOf', 'oneOf', 'properties', 'additionalProperties', 'required',
  'propertyOrdering',
]);
const SCHEMA_LIST = new Set(['anyOf', 'oneOf', 'prefixItems']);
const MAX_DEPTH = 64;
const MAX_NODES = 10_000;

interface Walk {
  root: JsonObject;
  param: string;
  nodes: number;
  /** `$ref` targets being expanded, innermost last: a repeat is a cycle. */
  expanding: string[];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(walk: Walk, why: string): never {
  throw new InvalidRequestError(`Unsupported JSON Schema in ${walk.param}: ${why}.`, { param: walk.param });
}

/** Follows a local JSON pointer (`#/$defs/Name`, `#/definitions/Name`, any `#/…`) in the root. */
function resolveRef(ref: string, walk: Walk): unknown {
  if (!ref.startsWith('#')) refuse(walk, `only local $ref is supported, got "${ref}"`);
  let pointer: string;
  try {
    pointer = decodeURIComponent(ref.slice(1));
  } catch {
    refuse(walk, `cannot resolve $ref "${ref}"`);
  }
  if (pointer !== '' && !pointer.startsWith('/')) refuse(walk, `cannot resolve $ref "${ref}"`);
  let node: unknown = walk.root;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) node = node[Number(key)];
    else if (isObject(node) && Object.hasOwn(node, key)) node = node[key];
    else refuse(walk, `cannot resolve $ref "${ref}"`);
  }
  return node;
}

function cleanMap(value: unknown, walk: Walk, depth: number): unknown {
  if (!isObject(value)) return value;
  // fromEntries defines each key: a property named `__proto__` (JSON.parse makes it an own key)
  // assigned to `{}` would set the prototype instead and be lost.
  return Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, cleanNode(sub, walk, depth + 1)]));
}

function cleanList(value: unknown, walk: Walk, depth: number): unknown {
  return Array.isArray(value) ? value.map((sub) => cleanNode(sub, walk, depth + 1)) : value;
}

function cleanKeyword(key: string, value: unknown, walk: Walk, depth: number): unknown {
  if (key === 'properties') return cleanMap(value, walk, depth);
  if (SCHEMA_LIST.has(key)) return cleanList(value, walk, depth);
  if (key === 'items' || key === 'additionalProperties') return cleanNode(value, walk, depth + 1);
  return value;
}

/** `allOf` is an intersection; for the object schemas tools use, merging them is that intersection. */
function mergeInto(target: JsonObject, extra: JsonObject): void {
  for (const [key, value] of Object.entries(extra)) {
    if (key === 'properties' && isObject(value) && isObject(target.properties)) {
      target.properties = { ...value, ...target.properties };
    } else if (key === 'required' && Array.isArray(value) && Array.isArray(target.required)) {
      target.required = [...new Set([...target.required, ...value])];
    } else if (!(key in target)) {
      target[key] = value;
    }
  }
}

function cleanNode(node: unknown, walk: Walk, depth: number): unknown {
  if (!isObject(node)) return node; // boolean schemas and anything Gemini should judge itself
  if (depth > MAX_DEPTH) refuse(walk, `nested deeper than ${MAX_DEPTH} levels`);
  if (++walk.nodes > MAX_NODES) refuse(walk, `more than ${MAX_NODES} nodes once $ref is expanded`);

  let out: JsonObject = {};
  const ref = node.$ref;
  if (ref !== undefined) {
    if (typeof ref !== 'string') refuse(walk, '$ref must be a string');
    if (walk.expanding.includes(ref)) refuse(walk, `recursive $ref "${ref}"`);
    walk.expanding.push(ref);
    const target = cleanNode(resolveRef(ref, walk), walk, depth + 1);
    walk.expanding.pop();
    if (isObject(target)) out = { ...target };
  }
  const own: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (KEPT.has(key)) own[key] = cleanKeyword(key, value, walk, depth);
  }
  if ('const' in node && !('enum' in node)) own.enum = [node.const];
  // Sibling keywords of a $ref (a description, say) refine the referenced schema.
  out = { ...out, ...own };
  if (Array.isArray(node.allOf)) {
    for (const sub of node.allOf) {
      const cleaned = cleanNode(sub, walk, depth + 1);
      if (isObject(cleaned)) mergeInto(out, cleaned);
    }
  }
  return out;
}

/** A copy of `schema` Gemini accepts; throws InvalidRequestError naming `param` if it cannot be made so. */
export function cleanSchema(schema: JsonObject, param: string): JsonObject {
  const walk: Walk = { root: schema, param, nodes: 0, expanding: [] };
  const cleaned = cleanNode(schema, walk, 0);
  return isObject(cleaned) ? cleaned : {};
}
