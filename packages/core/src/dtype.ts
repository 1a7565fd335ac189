/** Element types. `bool` is stored as one byte per element. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';
export type FloatDType = 'float32' | 'float64';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

/** PyTorch-style promotion between two tensor dtypes: bool < int32 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  return rank[a] >= rank[b] ? a : b;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : dtype === 'bool' ? 1 : 4;
}

export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

export function assertDType(value: unknown, arg: string): DType {
  if (typeof value === 'string' && (DTYPES as readonly string[]).includes(value)) return value as DType;
  throw new TypeError(`${arg}: expected one of ${DTYPES.join(', ')}, got ${String(value)}`);
}
