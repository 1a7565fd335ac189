/**
 * The safetensors format (https://github.com/huggingface/safetensors), platform-free: an 8-byte
 * little-endian u64 header length N, N bytes of UTF-8 JSON
 * (`{"__metadata__": {...}, "name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}}`,
 * space-padded so the data starts 8-byte aligned), then the tensors' raw little-endian bytes, packed
 * back to back with offsets relative to the start of the data section.
 *
 * Writes F64, F32, I32 and BOOL (methodzoo's dtypes). Reads every dtype PyTorch writes that maps to
 * one of them exactly: F16, BF16, F8_E4M3 and F8_E5M2 widen to float32; I64, U64, U32 (range-checked),
 * I16, U16, I8 and U8 to int32; BOOL to bool.
 */
import { tensor, type CreateOptions } from '../creation.js';
import type { DType, TypedArray } from '../dtype.js';
import { fmtShape, OpError } from '../shape.js';
import { Tensor } from '../tensor.js';

export type SafetensorsTensors = Map<string, Tensor> | Record<string, Tensor>;

/** Dtype names as they appear in a safetensors header. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'F8_E5M2' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** N, the JSON header's byte length; the data section starts at byte 8 + N. */
  headerLength: number;
  metadata: Record<string, string>;
  /** In header order. */
  entries: SafetensorsEntry[];
}

export interface DeserializeOptions {
  /** Backend (or its registered name) for the loaded tensors; the current default when omitted. */
  backend?: CreateOptions['backend'];
}

/** The reference implementation refuses headers above 100 MB; anything larger is not a safetensors file. */
const MAX_HEADER_BYTES = 100_000_000;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let nativeLittleEndian = HOST_LITTLE_ENDIAN;

/**
 * @internal Forces the portable DataView path (what a big-endian host runs) so tests cover it on
 * little-endian machines. Returns the previous setting.
 */
export function _setNativeByteOrderForTesting(native: boolean): boolean {
  const prev = nativeLittleEndian;
  nativeLittleEndian = native && HOST_LITTLE_ENDIAN;
  return prev;
}

// ---- float widening tables ---------------------------------------------------------------------

/** float32 bit pattern of an IEEE half: exact (every half is a float32), NaN payloads kept as hardware does. */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half (mant * 2^-24): shift the leading one up to the implicit bit; each shift halves the scale.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

let halfTable: Float32Array | null = null;
function halfToFloat(): Float32Array {
  if (!halfTable) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = halfToFloatBits(h);
    halfTable = new Float32Array(bits.buffer);
  }
  return halfTable;
}

/** Value table of an 8-bit float with `mantBits` mantissa bits and exponent bias `bias`. */
function minifloatTable(mantBits: number, bias: number, isNaN: (exp: number, mant: number) => boolean, isInf: (exp: number, mant: number) => boolean): Float32Array {
  const table = new Float32Array(256);
  const mantScale = 2 ** mantBits;
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const exp = (b & 0x7f) >>> mantBits;
    const mant = b & (mantScale - 1);
    let v: number;
    if (isNaN(exp, mant)) v = NaN;
    else if (isInf(exp, mant)) v = Infinity;
    else if (exp === 0) v = (mant / mantScale) * 2 ** (1 - bias);
    else v = (1 + mant / mantScale) * 2 ** (exp - bias);
    table[b] = sign * v;
  }
  return table;
}
let e4m3Table: Float32Array | null = null;
let e5m2Table: Float32Array | null = null;
// float8_e4m3fn: no infinities, one NaN mantissa (S.1111.111), max 448.
const e4m3 = () => (e4m3Table ??= minifloatTable(3, 7, (e, m) => e === 15 && m === 7, () => false));
// float8_e5m2: the top byte of an IEEE half.
const e5m2 = () => (e5m2Table ??= minifloatTable(2, 15, (e, m) => e === 31 && m !== 0, (e, m) => e === 31 && m === 0));

// ---- dtype table -------------------------------------------------------------------------------

interface Source {
  op: string;
  where: string;
  name: string;
  dtype: SafetensorsDType;
  shape: readonly number[];
}

type Decoder = (bytes: Uint8Array, begin: number, count: number, src: Source) => TypedArray;

interface DTypeSpec {
  itemsize: number;
  out: DType;
  decode: Decoder;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Raw little-endian bytes straight into a typed array of the same element type. */
function raw(ctor: Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor, get: (v: DataView, o: number) => number): Decoder {
  return (bytes, begin, count) => {
    const size = ctor.BYTES_PER_ELEMENT;
    if (nativeLittleEndian) {
      const start = bytes.byteOffset + begin;
      // An aligned view costs nothing (tensor() copies it); an unaligned one needs its own buffer.
      if (start % size === 0) return new ctor(bytes.buffer as ArrayBuffer, start, count);
      return new ctor(bytes.slice(begin, begin + count * size).buffer, 0, count);
    }
    const v = view(bytes);
    const out = new ctor(count);
    for (let i = 0; i < count; i++) out[i] = get(v, begin + i * size);
    return out;
  };
}

function intOutOfRange(src: Source, index: number, value: bigint | number): OpError {
  return new OpError(
    src.op,
    `${src.where}tensor '${src.name}' (${src.dtype}, shape ${fmtShape(src.shape)}): element ${index} is ${value}, outside the int32 range [${INT32_MIN}, ${INT32_MAX}] that methodzoo integer tensors hold`,
  );
}

/** Small integers widen to int32 exactly. */
function widenInt(itemsize: number, get: (v: DataView, o: number) => number): Decoder {
  return (bytes, begin, count) => {
    const v = view(bytes);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = get(v, begin + i * itemsize);
    return out;
  };
}

function fromTable(table: () => Float32Array, itemsize: 1 | 2): Decoder {
  return (bytes, begin, count) => {
    const t = table();
    const out = new Float32Array(count);
    if (itemsize === 1) {
      for (let i = 0; i < count; i++) out[i] = t[bytes[begin + i]!]!;
    } else {
      const v = view(bytes);
      for (let i = 0; i < count; i++) out[i] = t[v.getUint16(begin + 2 * i, true)]!;
    }
    return out;
  };
}

const DTYPES: Record<SafetensorsDType, DTypeSpec> = {
  F64: { itemsize: 8, out: 'float64', decode: raw(Float64Array, (v, o) => v.getFloat64(o, true)) },
  F32: { itemsize: 4, out: 'float32', decode: raw(Float32Array, (v, o) => v.getFloat32(o, true)) },
  F16: { itemsize: 2, out: 'float32', decode: fromTable(halfToFloat, 2) },
  BF16: {
    itemsize: 2,
    out: 'float32',
    // bfloat16 is the top half of a float32.
    decode: (bytes, begin, count) => {
      const v = view(bytes);
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = v.getUint16(begin + 2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    },
  },
  F8_E4M3: { itemsize: 1, out: 'float32', decode: fromTable(e4m3, 1) },
  F8_E5M2: { itemsize: 1, out: 'float32', decode: fromTable(e5m2, 1) },
  I64: {
    itemsize: 8,
    out: 'int32',
    decode: (bytes, begin, count, src) => {
      const v = view(bytes);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = v.getInt32(begin + 8 * i, true);
        const hi = v.getInt32(begin + 8 * i + 4, true);
        // In int32 range exactly when the high word is the sign extension of the low word.
        if (hi !== lo >> 31) throw intOutOfRange(src, i, v.getBigInt64(begin + 8 * i, true));
        out[i] = lo;
      }
      return out;
    },
  },
  U64: {
    itemsize: 8,
    out: 'int32',
    decode: (bytes, begin, count, src) => {
      const v = view(bytes);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = v.getInt32(begin + 8 * i, true);
        if (lo < 0 || v.getUint32(begin + 8 * i + 4, true) !== 0) throw intOutOfRange(src, i, v.getBigUint64(begin + 8 * i, true));
        out[i] = lo;
      }
      return out;
    },
  },
  I32: { itemsize: 4, out: 'int32', decode: raw(Int32Array, (v, o) => v.getInt32(o, true)) },
  U32: {
    itemsize: 4,
    out: 'int32',
    decode: (bytes, begin, count, src) => {
      const v = view(bytes);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const x = v.getUint32(begin + 4 * i, true);
        if (x > INT32_MAX) throw intOutOfRange(src, i, x);
        out[i] = x;
      }
      return out;
    },
  },
  I16: { itemsize: 2, out: 'int32', decode: widenInt(2, (v, o) => v.getInt16(o, true)) },
  U16: { itemsize: 2, out: 'int32', decode: widenInt(2, (v, o) => v.getUint16(o, true)) },
  I8: { itemsize: 1, out: 'int32', decode: widenInt(1, (v, o) => v.getInt8(o)) },
  U8: { itemsize: 1, out: 'int32', decode: widenInt(1, (v, o) => v.getUint8(o)) },
  BOOL: {
    itemsize: 1,
    out: 'bool',
    // Any non-zero byte is true, as in PyTorch; stored normalised to 0/1.
    decode: (bytes, begin, count) => {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[begin + i] ? 1 : 0;
      return out;
    },
  },
};

const WRITE_DTYPE: Record<DType, SafetensorsDType> = { float64: 'F64', float32: 'F32', int32: 'I32', bool: 'BOOL' };

// ---- header ------------------------------------------------------------------------------------

const describe = (v: unknown): string => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array ${JSON.stringify(v).slice(0, 60)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
};

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** @internal header parsing with the caller's op name and an optional file path in messages. */
export function parseHeader(bytes: Uint8Array, op: string, path?: string): SafetensorsHeader {
  const where = path ? `${path}: ` : '';
  const fail = (msg: string) => new OpError(op, where + msg);
  if (!(bytes instanceof Uint8Array)) throw fail(`expected the file's bytes as a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length < 8) throw fail(`${bytes.length} bytes is too short: a safetensors file starts with an 8-byte header length`);
  const dv = view(bytes);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER_BYTES) throw fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit of the reference implementation; not a safetensors file?`);
  if (8 + n > bytes.length) throw fail(`header length ${n} runs past the end of the ${bytes.length}-byte buffer (expected at least ${8 + n} bytes); truncated file?`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw fail(`header (${n} bytes) is not valid UTF-8`);
  }
  if (!text.startsWith('{')) throw fail(`header must be a JSON object starting with '{', found ${JSON.stringify(text.slice(0, 20))}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail(`header must be a JSON object, found ${describe(json)}`);

  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) throw fail(`__metadata__ must be an object of strings, found ${describe(info)}`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw fail(`__metadata__['${k}'] must be a string, found ${describe(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const bad = (msg: string) => fail(`tensor '${name}': ${msg}`);
    if (info === null || typeof info !== 'object' || Array.isArray(info)) throw bad(`expected {"dtype", "shape", "data_offsets"}, found ${describe(info)}`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) {
      throw bad(`dtype ${describe(dtype)} is not supported; expected one of ${Object.keys(DTYPES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`shape must be an array of non-negative integers, found ${describe(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
      throw bad(`data_offsets must be [begin, end] with 0 <= begin <= end, found ${describe(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const spec = DTYPES[dtype as SafetensorsDType];
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (numel * spec.itemsize !== end - begin) {
      throw bad(`${dtype} with shape ${fmtShape(shape)} needs ${numel} * ${spec.itemsize} = ${numel * spec.itemsize} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: shape as number[], dataOffsets: [begin, end] });
  }

  // The data section must be exactly the tensors, back to back (as the reference validates it).
  const dataLength = bytes.length - 8 - n;
  const byOffset = [...entries].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  let prev: SafetensorsEntry | undefined;
  for (const e of byOffset) {
    const [b, f] = e.dataOffsets;
    if (f > dataLength) throw fail(`tensor '${e.name}': data_offsets [${b}, ${f}] run past the end of the ${dataLength}-byte data section`);
    if (b < end) throw fail(`tensor '${e.name}': data_offsets [${b}, ${f}] overlap tensor '${prev!.name}' [${prev!.dataOffsets[0]}, ${prev!.dataOffsets[1]}]; expected it to start at ${end}`);
    if (b > end) throw fail(`tensor '${e.name}': data_offsets [${b}, ${f}] leave a gap; expected it to start at ${end}${prev ? `, where tensor '${prev.name}' ends` : ''}`);
    end = f;
    prev = e;
  }
  if (end !== dataLength) throw fail(`data section is ${dataLength} bytes but the tensors cover ${end}; the header and the data do not match`);
  return { headerLength: n, metadata, entries };
}

/** Reads a safetensors header (metadata, names, dtypes, shapes, offsets) without loading any tensor. */
export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  return parseHeader(bytes, 'parseSafetensorsHeader');
}

/** @internal decoding with the caller's op name and an optional file path in messages. */
export function decode(bytes: Uint8Array, opts: DeserializeOptions, op: string, path?: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const header = parseHeader(bytes, op, path);
  const base = 8 + header.headerLength;
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of header.entries) {
      const spec = DTYPES[e.dtype];
      const count = (e.dataOffsets[1] - e.dataOffsets[0]) / spec.itemsize;
      const src: Source = { op, where: path ? `${path}: ` : '', name: e.name, dtype: e.dtype, shape: e.shape };
      const data = spec.decode(bytes, base + e.dataOffsets[0], count, src);
      tensors.set(e.name, tensor(data, { shape: e.shape, dtype: spec.out, backend: opts.backend }));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Reads a safetensors buffer. Tensors come back in header order on the default backend (or
 * `opts.backend`), converted as the module comment describes; `metadata` is the `__metadata__`
 * object, `{}` when absent. Every validation error names the tensor and what was expected.
 */
export function deserializeSafetensors(bytes: Uint8Array, opts: DeserializeOptions = {}): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  return decode(bytes, opts, 'deserializeSafetensors');
}

// ---- writing -----------------------------------------------------------------------------------

interface Pending {
  name: string;
  tensor: Tensor;
}

/** @internal checks names, tensors and metadata, in the reference implementation's data order. */
export function collect(tensors: SafetensorsTensors, metadata: Record<string, string> | undefined, op: string): Pending[] {
  if (tensors === null || typeof tensors !== 'object') throw new OpError(op, `tensors must be a Map or an object of tensors, got ${describe(tensors)}`);
  const list: Pending[] = [];
  for (const [name, t] of tensors instanceof Map ? tensors : Object.entries(tensors)) {
    if (typeof name !== 'string') throw new OpError(op, `tensor names must be strings, got ${describe(name)}`);
    if (name === '__metadata__') throw new OpError(op, `'__metadata__' is reserved for the metadata and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new OpError(op, `tensors['${name}'] must be a Tensor, got ${describe(t)}`);
    if (t.isDisposed) throw new OpError(op, `tensors['${name}'] (shape ${fmtShape(t.shape)}) was disposed`);
    list.push({ name, tensor: t });
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new OpError(op, `metadata must be an object of strings, got ${describe(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new OpError(op, `metadata['${k}'] must be a string, got ${describe(v)}`);
  }
  // Largest itemsize first (F64, F32, I32, BOOL), then by name: every tensor's data stays aligned
  // to its element size, and the bytes match what the Python package writes for the same tensors.
  const order: Record<DType, number> = { float64: 0, float32: 1, int32: 2, bool: 3 };
  return list.sort((a, b) => order[a.tensor.dtype] - order[b.tensor.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** @internal lays out header and data given each tensor's values. */
export function encode(list: readonly Pending[], values: readonly TypedArray[], metadata: Record<string, string> | undefined): Uint8Array {
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  list.forEach(({ name, tensor: t }, i) => {
    const nbytes = values[i]!.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${WRITE_DTYPE[t.dtype]}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${offset + nbytes}]}`);
    offset += nbytes;
  });
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  // Space padding to a multiple of 8 keeps the data section 8-byte aligned, as the reference does.
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  const dv = view(out);
  dv.setUint32(0, n % 2 ** 32, true);
  dv.setUint32(4, Math.floor(n / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  list.forEach(({ tensor: t }, i) => {
    const data = values[i]!;
    if (t.dtype === 'bool') {
      for (let j = 0; j < data.length; j++) out[at + j] = data[j] ? 1 : 0;
    } else if (nativeLittleEndian) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else {
      const size = data.BYTES_PER_ELEMENT;
      for (let j = 0; j < data.length; j++) {
        if (t.dtype === 'float64') dv.setFloat64(at + j * size, data[j]!, true);
        else if (t.dtype === 'float32') dv.setFloat32(at + j * size, data[j]!, true);
        else dv.setInt32(at + j * size, data[j]!, true);
      }
    }
    at += data.byteLength;
  });
  return out;
}

/**
 * Writes tensors (and optional string metadata) as safetensors bytes. Values are read with
 * `dataSync()`, so every tensor's backend must read synchronously; use
 * `serializeSafetensorsAsync` otherwise.
 */
export function serializeSafetensors(tensors: SafetensorsTensors, metadata?: Record<string, string>): Uint8Array {
  const list = collect(tensors, metadata, 'serializeSafetensors');
  return encode(
    list,
    list.map((p) => p.tensor.dataSync()),
    metadata,
  );
}

/** `serializeSafetensors` reading values with `await t.data()`, for backends that read asynchronously. */
export async function serializeSafetensorsAsync(tensors: SafetensorsTensors, metadata?: Record<string, string>): Promise<Uint8Array> {
  const list = collect(tensors, metadata, 'serializeSafetensorsAsync');
  return encode(list, await Promise.all(list.map((p) => p.tensor.data())), metadata);
}
