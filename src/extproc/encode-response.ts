import { ProcessingResponseType } from './protos.ts';
import type { ExtProcResponse } from './types.ts';

/**
 * ProcessingResponse → protobuf bytes, written straight into one Buffer for the shapes the
 * gateway sends on every request: a headers or body answer (`CommonResponse`: status,
 * header_mutation, body_mutation, clear_route_cache) with an optional `mode_override`.
 *
 * Why not protobufjs here: its writer allocates an operation object per field and a fork per
 * nested message, ~20 KB per request for the gateway's ~15 header mutations (a fifth of all the
 * ext_proc allocates per request, measured with V8's sampling heap profiler), which sets how often
 * the young-generation GC pauses the event loop. Anything else (immediate_response, trailers,
 * dynamic_metadata, override_message_timeout, `append`, an unknown field) goes to protobufjs.
 *
 * Same bytes as protobufjs: fields in field-number order, every present (non-null) field written,
 * defaults included (test/extproc/encode-response.test.ts compares the two on the gateway's real
 * responses). Field numbers: envoy/service/ext_proc/v3/external_processor.proto,
 * envoy/config/core/v3/base.proto (HeaderValueOption, HeaderValue),
 * envoy/extensions/filters/http/ext_proc/v3/processing_mode.proto (ProcessingMode).
 *
 * In: the plain-object response (src/extproc/messages.ts); out: the encoded message bytes.
 * Throws only what protobufjs throws for a shape it cannot encode (the fallback).
 */
export function encodeProcessingResponse(res: ExtProcResponse): Buffer {
  slots.length = 0;
  const size = sizeOfResponse(res);
  if (size < 0) return fallback(res);
  const w: Out = { buf: Buffer.allocUnsafe(size), pos: 0, slot: 0 };
  writeResponse(w, res);
  return w.buf;
}

/**
 * The size pass's results in visiting order: each nested message's length and each string's
 * UTF-8 length, read back in the same order by the write pass (so nothing is measured twice).
 * One array for the process: encoding is synchronous.
 */
const slots: number[] = [];

function fallback(res: ExtProcResponse): Buffer {
  const bytes = ProcessingResponseType.encode(res).finish();
  // protobufjs returns a Buffer under Node: no copy needed.
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface Out {
  buf: Buffer;
  pos: number;
  /** Next entry of `slots` to read. */
  slot: number;
}

type Obj = Record<string, unknown>;

const PHASES = ['request_headers', 'response_headers', 'request_body', 'response_body'] as const;
/** ProcessingResponse field numbers of the four phase answers (a oneof: at most one is set). */
const PHASE_FIELD = { request_headers: 1, response_headers: 2, request_body: 3, response_body: 4 } as const;
const MODE_FIELDS = ['request_header_mode', 'response_header_mode', 'request_body_mode', 'response_body_mode', 'request_trailer_mode', 'response_trailer_mode'] as const;

/** An absent repeated field, without an allocation per message. */
const NONE: readonly never[] = Object.freeze([]);

const present = (v: unknown): boolean => v !== undefined && v !== null;

function varintSize(n: number): number {
  // uint32 / non-negative enums and lengths only (negative values go to the fallback).
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}
/** Tag + length prefix + payload of a length-delimited field. */
const lenField = (payload: number): number => 1 + varintSize(payload) + payload;

function writeVarint(w: Out, n: number): void {
  while (n > 0x7f) {
    w.buf[w.pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  w.buf[w.pos++] = n;
}
function writeTag(w: Out, field: number, wire: 0 | 2): void {
  w.buf[w.pos++] = (field << 3) | wire;
}
function writeBytes(w: Out, field: number, v: Uint8Array): void {
  writeTag(w, field, 2);
  writeVarint(w, v.length);
  w.buf.set(v, w.pos);
  w.pos += v.length;
}
function writeString(w: Out, field: number, s: string): void {
  const bytes = slots[w.slot++]!;
  writeTag(w, field, 2);
  writeVarint(w, bytes);
  if (bytes === s.length && bytes < SHORT) {
    // ASCII (header names and most values): a JS loop beats a call into C++ for short strings.
    const buf = w.buf;
    let pos = w.pos;
    for (let i = 0; i < bytes; i++) buf[pos++] = s.charCodeAt(i);
    w.pos = pos;
  } else w.pos += w.buf.write(s, w.pos, bytes, 'utf8');
}
/** Tag and length of a nested message whose size the size pass recorded. */
function openMessage(w: Out, field: number): void {
  writeTag(w, field, 2);
  writeVarint(w, slots[w.slot++]!);
}
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

// ---- the size pass: -1 means "not a fast-path shape"; records slots in write order ----

function onlyKeys(o: Obj, allowed: readonly string[]): boolean {
  for (const k in o) if (present(o[k]) && !allowed.includes(k)) return false;
  return true;
}

/** Records a nested message's length: reserve its slot before its children's, fill it after. */
function reserve(): number {
  slots.push(0);
  return slots.length - 1;
}
/** Strings shorter than this are measured and copied in JS rather than by Buffer's C++ calls. */
const SHORT = 128;

/** UTF-8 length of `s` (lone surrogates count 3 bytes, as Buffer writes U+FFFD for them). */
function utf8Length(s: string): number {
  if (s.length >= SHORT) return Buffer.byteLength(s, 'utf8');
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function stringSize(s: string): number {
  const n = utf8Length(s);
  slots.push(n);
  return lenField(n);
}

function sizeOfResponse(res: Obj): number {
  let phases = 0;
  for (const k in res) {
    if (!present(res[k])) continue;
    if (Object.hasOwn(PHASE_FIELD, k)) phases++;
    else if (k !== 'mode_override') return -1;
  }
  if (phases > 1) return -1; // a oneof
  let total = 0;
  for (const k of PHASES) {
    const phase = res[k] as Obj | undefined;
    if (!present(phase)) continue;
    if (typeof phase !== 'object' || !onlyKeys(phase!, ['response'])) return -1;
    const at = reserve();
    let inner = 0;
    if (present(phase!.response)) {
      const c = sizeOfCommon(phase!.response as Obj);
      if (c < 0) return -1;
      inner = lenField(c);
    }
    slots[at] = inner;
    total += lenField(inner);
  }
  if (present(res.mode_override)) {
    const at = reserve();
    const m = sizeOfMode(res.mode_override as Obj);
    if (m < 0) return -1;
    slots[at] = m;
    total += lenField(m);
  }
  return total;
}

function sizeOfMode(m: Obj): number {
  if (typeof m !== 'object' || !onlyKeys(m, MODE_FIELDS)) return -1;
  let s = 0;
  for (const k of MODE_FIELDS) {
    const v = m[k];
    if (!present(v)) continue;
    if (!isUint(v)) return -1;
    s += 1 + varintSize(v);
  }
  return s;
}

function sizeOfCommon(c: Obj): number {
  if (typeof c !== 'object' || !onlyKeys(c, ['status', 'header_mutation', 'body_mutation', 'clear_route_cache'])) return -1;
  const at = reserve();
  let s = 0;
  if (present(c.status)) {
    if (!isUint(c.status)) return -1;
    s += 1 + varintSize(c.status);
  }
  if (present(c.header_mutation)) {
    const h = sizeOfHeaderMutation(c.header_mutation as Obj);
    if (h < 0) return -1;
    s += lenField(h);
  }
  if (present(c.body_mutation)) {
    const b = sizeOfBodyMutation(c.body_mutation as Obj);
    if (b < 0) return -1;
    s += lenField(b);
  }
  if (present(c.clear_route_cache)) {
    if (typeof c.clear_route_cache !== 'boolean') return -1;
    s += 2;
  }
  slots[at] = s;
  return s;
}

function sizeOfHeaderMutation(h: Obj): number {
  if (typeof h !== 'object' || !onlyKeys(h, ['set_headers', 'remove_headers'])) return -1;
  const at = reserve();
  let s = 0;
  const set = h.set_headers;
  if (present(set)) {
    if (!Array.isArray(set)) return -1;
    for (const opt of set as Obj[]) {
      const o = sizeOfHeaderOption(opt);
      if (o < 0) return -1;
      s += lenField(o);
    }
  }
  const remove = h.remove_headers;
  if (present(remove)) {
    if (!Array.isArray(remove)) return -1;
    for (const name of remove as unknown[]) {
      if (typeof name !== 'string') return -1;
      s += stringSize(name);
    }
  }
  slots[at] = s;
  return s;
}

function sizeOfHeaderOption(o: Obj): number {
  if (typeof o !== 'object' || o === null || !onlyKeys(o, ['header', 'append_action', 'keep_empty_value'])) return -1;
  const at = reserve();
  let s = 0;
  if (present(o.header)) {
    const hv = sizeOfHeaderValue(o.header as Obj);
    if (hv < 0) return -1;
    s += lenField(hv);
  }
  if (present(o.append_action)) {
    if (!isUint(o.append_action)) return -1;
    s += 1 + varintSize(o.append_action);
  }
  if (present(o.keep_empty_value)) {
    if (typeof o.keep_empty_value !== 'boolean') return -1;
    s += 2;
  }
  slots[at] = s;
  return s;
}

function sizeOfHeaderValue(v: Obj): number {
  if (typeof v !== 'object' || v === null || !onlyKeys(v, ['key', 'value', 'raw_value'])) return -1;
  const at = reserve();
  let s = 0;
  if (present(v.key)) {
    if (typeof v.key !== 'string') return -1;
    s += stringSize(v.key);
  }
  if (present(v.value)) {
    if (typeof v.value !== 'string') return -1;
    s += stringSize(v.value);
  }
  if (present(v.raw_value)) {
    if (!(v.raw_value instanceof Uint8Array)) return -1;
    s += lenField(v.raw_value.length);
  }
  slots[at] = s;
  return s;
}

function sizeOfBodyMutation(b: Obj): number {
  if (typeof b !== 'object') return -1;
  const at = reserve();
  let s = 0;
  let set = 0;
  for (const k in b) {
    const v = b[k];
    if (!present(v)) continue;
    if (++set > 1) return -1; // a oneof
    if (k === 'body') {
      if (!(v instanceof Uint8Array)) return -1;
      s += lenField(v.length);
    } else if (k === 'clear_body') {
      if (typeof v !== 'boolean') return -1;
      s += 2;
    } else if (k === 'streamed_response') {
      const r = v as Obj;
      if (typeof r !== 'object' || !onlyKeys(r, ['body', 'end_of_stream'])) return -1;
      const inner = reserve();
      let n = 0;
      if (present(r.body)) {
        if (!(r.body instanceof Uint8Array)) return -1;
        n += lenField(r.body.length);
      }
      if (present(r.end_of_stream)) {
        if (typeof r.end_of_stream !== 'boolean') return -1;
        n += 2;
      }
      slots[inner] = n;
      s += lenField(n);
    } else return -1;
  }
  slots[at] = s;
  return s;
}

// ---- the write pass: the same walk in the same order, shapes already checked ----

function writeResponse(w: Out, res: Obj): void {
  for (const k of PHASES) {
    const phase = res[k] as Obj | undefined;
    if (!present(phase)) continue;
    openMessage(w, PHASE_FIELD[k]);
    if (present(phase!.response)) {
      openMessage(w, 1);
      writeCommon(w, phase!.response as Obj);
    }
  }
  const mode = res.mode_override as Obj | undefined;
  if (present(mode)) {
    openMessage(w, 9);
    for (let i = 0; i < MODE_FIELDS.length; i++) {
      const v = mode![MODE_FIELDS[i]!];
      if (!present(v)) continue;
      writeTag(w, i + 1, 0);
      writeVarint(w, v as number);
    }
  }
}

function writeBool(w: Out, field: number, v: unknown): void {
  writeTag(w, field, 0);
  w.buf[w.pos++] = v ? 1 : 0;
}

function writeCommon(w: Out, c: Obj): void {
  if (present(c.status)) {
    writeTag(w, 1, 0);
    writeVarint(w, c.status as number);
  }
  if (present(c.header_mutation)) {
    openMessage(w, 2);
    writeHeaderMutation(w, c.header_mutation as Obj);
  }
  if (present(c.body_mutation)) {
    openMessage(w, 3);
    writeBodyMutation(w, c.body_mutation as Obj);
  }
  if (present(c.clear_route_cache)) writeBool(w, 5, c.clear_route_cache);
}

function writeHeaderMutation(w: Out, h: Obj): void {
  for (const opt of (h.set_headers as Obj[] | undefined) ?? NONE) {
    openMessage(w, 1);
    if (present(opt.header)) {
      const v = opt.header as Obj;
      openMessage(w, 1);
      if (present(v.key)) writeString(w, 1, v.key as string);
      if (present(v.value)) writeString(w, 2, v.value as string);
      if (present(v.raw_value)) writeBytes(w, 3, v.raw_value as Uint8Array);
    }
    if (present(opt.append_action)) {
      writeTag(w, 3, 0);
      writeVarint(w, opt.append_action as number);
    }
    if (present(opt.keep_empty_value)) writeBool(w, 4, opt.keep_empty_value);
  }
  for (const name of (h.remove_headers as string[] | undefined) ?? NONE) writeString(w, 2, name);
}

function writeBodyMutation(w: Out, b: Obj): void {
  if (present(b.body)) writeBytes(w, 1, b.body as Uint8Array);
  else if (present(b.clear_body)) writeBool(w, 2, b.clear_body);
  else if (present(b.streamed_response)) {
    const r = b.streamed_response as Obj;
    openMessage(w, 3);
    if (present(r.body)) writeBytes(w, 1, r.body as Uint8Array);
    if (present(r.end_of_stream)) writeBool(w, 2, r.end_of_stream);
  }
}
