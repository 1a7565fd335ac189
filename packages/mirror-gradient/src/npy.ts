/**
 * NumPy `.npy` reader (format versions 1-3): little- or big-endian float16/32/64, int8-64, uint8-32
 * and bool arrays in C order (Fortran order is transposed to C order). Float64 and int64 data are
 * returned as float32 / int32 by `npyToTensor`, the dtypes the library computes in.
 */
import { OpError, type Tensor, tensor } from '@methodzoo/core';

export interface NpyArray {
  /** NumPy's descr, e.g. '<f4'. */
  descr: string;
  shape: number[];
  /** The values in C order, as float64 (exact for every supported dtype except int64 beyond 2^53). */
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses the bytes of a `.npy` file. */
export function parseNpy(bytes: Uint8Array): NpyArray {
  const op = 'parseNpy';
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new OpError(op, 'not a .npy file (the magic string \\x93NUMPY is missing)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw new OpError(op, `unsupported .npy format version ${major}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new OpError(op, `malformed header: ${header.trim()}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new OpError(op, `malformed shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!m) throw new OpError(op, `unsupported dtype '${descr}' (expected float, int, uint or bool)`);
  const little = m[1] !== '>';
  const kind = m[2]!;
  const size = Number(m[3]);
  const offset = start + headerLen;
  if (bytes.length < offset + count * size) throw new OpError(op, `file is truncated: ${count} values of ${size} bytes need ${offset + count * size} bytes, got ${bytes.length}`);
  const read = reader(kind, size, descr);
  const data = new Float64Array(count);
  for (let j = 0; j < count; j++) data[j] = read(view, offset + j * size, little);
  return { descr, shape, data: fortran === 'True' ? fortranToC(data, shape) : data };
}

function reader(kind: string, size: number, descr: string): (v: DataView, at: number, little: boolean) => number {
  const key = `${kind}${size}`;
  switch (key) {
    case 'f2': return (v, at, le) => half(v.getUint16(at, le));
    case 'f4': return (v, at, le) => v.getFloat32(at, le);
    case 'f8': return (v, at, le) => v.getFloat64(at, le);
    case 'i1': return (v, at) => v.getInt8(at);
    case 'i2': return (v, at, le) => v.getInt16(at, le);
    case 'i4': return (v, at, le) => v.getInt32(at, le);
    case 'i8': return (v, at, le) => Number(v.getBigInt64(at, le));
    case 'u1': case 'b1': return (v, at) => v.getUint8(at);
    case 'u2': return (v, at, le) => v.getUint16(at, le);
    case 'u4': return (v, at, le) => v.getUint32(at, le);
    default: throw new OpError('parseNpy', `unsupported dtype '${descr}'`);
  }
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function fortranToC(src: Float64Array, shape: number[]): Float64Array {
  const out = new Float64Array(src.length);
  const n = shape.length;
  const idx = new Array<number>(n).fill(0);
  for (let c = 0; c < src.length; c++) {
    // idx is the C-order multi-index of c; its Fortran offset has the first axis fastest
    let f = 0;
    let stride = 1;
    for (let d = 0; d < n; d++) {
      f += idx[d]! * stride;
      stride *= shape[d]!;
    }
    out[c] = src[f]!;
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** A float32 (float dtypes) or int32 (integer and bool dtypes) tensor of the array. */
export function npyToTensor(a: NpyArray): Tensor {
  const isFloat = /f\d+$/.test(a.descr);
  return tensor(isFloat ? Float32Array.from(a.data) : Int32Array.from(a.data), { shape: a.shape, dtype: isFloat ? 'float32' : 'int32' });
}
