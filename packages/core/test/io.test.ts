import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deserializeSafetensors,
  loadModule,
  loadSafetensors,
  memory,
  parseSafetensorsHeader,
  saveModule,
  saveSafetensors,
  serializeSafetensors,
  serializeSafetensorsAsync,
  tensor,
  type Tensor,
  type TypedArray,
} from '../src/index.js';
import { _setNativeByteOrderForTesting } from '../src/io/safetensors.js';

const FIXTURES = new URL('./fixtures/io/', import.meta.url);
const fixture = async (name: string) => new Uint8Array(await readFile(new URL(name, FIXTURES)));

/** Raw bit patterns, so -0, subnormals and NaN compare exactly. */
function bits(a: TypedArray): number[] | bigint[] {
  if (a instanceof Float32Array) return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  if (a instanceof Float64Array) return Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length));
  return Array.from(a);
}

/** Builds a safetensors buffer by hand (any dtype, any header) to test the reader's checks. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Every float class that must survive a round trip bit for bit. */
const F32_SPECIAL = [0, -0, 2 ** -149, -(2 ** -149), 0x7fffff * 2 ** -149, 2 ** -126, 3.4028234663852886e38, -3.4028234663852886e38, Infinity, -Infinity, NaN, 1 / 3, -2.25, 1e-40];
const F64_SPECIAL = [0, -0, 5e-324, -5e-324, 2.225073858507201e-308, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity, NaN, 1 / 3, Math.PI, 1e-310];

function sampleTensors(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['encoder.layers.0.weight', tensor(new Float32Array(F32_SPECIAL), { shape: [2, 7] })],
    ['double', tensor(new Float64Array(F64_SPECIAL))],
    ['steps', tensor(new Int32Array([-2147483648, 2147483647, 0, -1, 42, 7]), { shape: [3, 2] })],
    ['mask', tensor([[true, false, true], [false, false, true]])],
    ['scalar', tensor(new Float32Array([-0.5]), { shape: [] })],
    ['empty', tensor(new Float32Array(0), { shape: [0, 4] })],
    ['ünïcode ✓', tensor(new Float64Array([1e300]))],
  ]);
}

function expectSameTensors(actual: Map<string, Tensor>, expected: Map<string, Tensor>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    expect({ name, dtype: a.dtype, shape: a.shape }).toEqual({ name, dtype: e.dtype, shape: e.shape });
    expect(bits(a.dataSync())).toEqual(bits(e.dataSync()));
  }
}

describe('safetensors round trip', () => {
  it('round-trips float32 specials, float64, int32, bool, scalars and empty tensors bit-exactly', () => {
    const src = sampleTensors();
    const bytes = serializeSafetensors(src, { epoch: '3', note: 'ünïcode' });
    const { tensors, metadata } = deserializeSafetensors(bytes);
    expectSameTensors(tensors, src);
    expect(metadata).toEqual({ epoch: '3', note: 'ünïcode' });
    // The NaN is the canonical quiet NaN and -0 keeps its sign bit.
    const f = new Uint32Array(tensors.get('encoder.layers.0.weight')!.dataSync().buffer);
    expect(f[1]).toBe(0x80000000);
    expect(f[2]).toBe(1);
    expect(f[10]).toBe(0x7fc00000);
  });

  it('accepts a plain object, and reads tensors from a buffer at any byte offset', () => {
    const bytes = serializeSafetensors({ w: tensor([1.5, -2]), n: tensor(new Int32Array([9])) });
    for (const shift of [1, 2, 3, 5]) {
      const padded = new Uint8Array(bytes.length + shift);
      padded.set(bytes, shift);
      const { tensors } = deserializeSafetensors(padded.subarray(shift));
      expect(Array.from(tensors.get('w')!.dataSync())).toEqual([1.5, -2]);
      expect(Array.from(tensors.get('n')!.dataSync())).toEqual([9]);
    }
  });

  it('lays the file out as the reference writer does: byte for byte the file Python wrote for the same tensors', async () => {
    const python = await fixture('methodzoo_layout.safetensors');
    const { tensors, metadata } = deserializeSafetensors(python);
    expect(metadata).toEqual({});
    expect(tensors.get('mask')!.dtype).toBe('bool');
    const ours = serializeSafetensors(tensors);
    expect(ours.length).toBe(python.length);
    expect(Buffer.from(ours).equals(Buffer.from(python))).toBe(true);

    const header = parseSafetensorsHeader(ours);
    expect(header.headerLength % 8).toBe(0);
    // F64 first, then F32, I32, BOOL, each group by name, packed from offset 0.
    expect(header.entries.map((e) => [e.name, e.dtype, e.dataOffsets])).toEqual([
      ['x64', 'F64', [0, 16]],
      ['a.weight', 'F32', [16, 32]],
      ['b.bias', 'F32', [32, 44]],
      ['empty', 'F32', [44, 44]],
      ['näme', 'F32', [44, 48]],
      ['steps', 'I32', [48, 60]],
      ['mask', 'BOOL', [60, 63]],
    ]);
  });

  it('the portable DataView path (big-endian hosts) reads and writes the same bytes', () => {
    const src = sampleTensors();
    const native = serializeSafetensors(src);
    const prev = _setNativeByteOrderForTesting(false);
    try {
      const portable = serializeSafetensors(src);
      expect(Buffer.from(portable).equals(Buffer.from(native))).toBe(true);
      expectSameTensors(deserializeSafetensors(native).tensors, src);
    } finally {
      _setNativeByteOrderForTesting(prev);
    }
  });

  it('serializeSafetensorsAsync writes the same bytes as the sync version', async () => {
    const src = sampleTensors();
    const a = await serializeSafetensorsAsync(src, { k: 'v' });
    expect(Buffer.from(a).equals(Buffer.from(serializeSafetensors(src, { k: 'v' })))).toBe(true);
  });

  it('writes bool tensors as one byte per element, normalised to 0/1', () => {
    const bytes = serializeSafetensors({ m: tensor(new Uint8Array([0, 2, 1, 255]), { dtype: 'bool' }) });
    const { headerLength } = parseSafetensorsHeader(bytes);
    expect(Array.from(bytes.subarray(8 + headerLength))).toEqual([0, 1, 1, 1]);
    // And any non-zero byte reads as true, as in PyTorch.
    const read = deserializeSafetensors(craft({ m: { dtype: 'BOOL', shape: [4], data_offsets: [0, 4] } }, new Uint8Array([0, 2, 255, 1])));
    expect(Array.from(read.tensors.get('m')!.dataSync())).toEqual([0, 1, 1, 1]);
  });
});

describe('safetensors golden values from PyTorch', () => {
  type Golden = { metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; values: (number | string | boolean)[]; float32_bits?: number[] }> };
  const OUT_DTYPE: Record<string, string> = {
    float64: 'float64', float32: 'float32', float16: 'float32', bfloat16: 'float32', float8_e4m3fn: 'float32', float8_e5m2: 'float32',
    int64: 'int32', int32: 'int32', int16: 'int32', int8: 'int32', uint8: 'int32', uint16: 'int32', uint32: 'int32', uint64: 'int32', bool: 'bool',
  };
  const decodeValue = (v: number | string | boolean) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : typeof v === 'boolean' ? Number(v) : (v as number));

  for (const native of [true, false]) {
    it(`reads every dtype torch wrote with the values torch reports (${native ? 'native' : 'DataView'} path)`, async () => {
      const golden = JSON.parse(await readFile(new URL('torch_dtypes.json', FIXTURES), 'utf8')) as Golden;
      const prev = _setNativeByteOrderForTesting(native);
      try {
        const { tensors, metadata } = deserializeSafetensors(await fixture('torch_dtypes.safetensors'));
        expect(metadata).toEqual(golden.metadata);
        expect([...tensors.keys()].sort()).toEqual(Object.keys(golden.tensors).sort());
        let checked = 0;
        for (const [name, g] of Object.entries(golden.tensors)) {
          const t = tensors.get(name)!;
          expect({ name, dtype: t.dtype, shape: t.shape }).toEqual({ name, dtype: OUT_DTYPE[g.dtype], shape: g.shape });
          const got = Array.from(t.dataSync() as ArrayLike<number>);
          const want = g.values.map(decodeValue);
          expect(got.length).toBe(want.length);
          for (let i = 0; i < want.length; i++) {
            // Object.is: NaN equals NaN, and -0 differs from 0.
            if (!Object.is(got[i], want[i])) expect.fail(`${name}[${i}]: got ${got[i]}, torch says ${want[i]}`);
            checked++;
          }
          if (g.float32_bits) {
            const b = new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
            // torch's widening of a NaN does not keep the payload (0x7fffffff for half); compare the rest by bits.
            g.float32_bits.forEach((expected, i) => {
              if (!Number.isNaN(want[i])) expect(b[i], `${name}[${i}] bits`).toBe(expected);
            });
          }
        }
        expect(checked).toBe(633);
      } finally {
        _setNativeByteOrderForTesting(prev);
      }
    });
  }

  it('names the tensor, element and value when an int64 or uint32 does not fit int32', async () => {
    const before = memory().tensors;
    await expect(fixture('int64_overflow.safetensors').then(deserializeSafetensors)).rejects.toThrow(
      /tensor 'step' \(I64, shape \[2\]\): element 1 is 2147483648, outside the int32 range \[-2147483648, 2147483647\]/,
    );
    await expect(fixture('uint32_overflow.safetensors').then(deserializeSafetensors)).rejects.toThrow(/tensor 'count' \(U32, shape \[2\]\): element 1 is 4294967295, outside the int32 range/);
    // The tensor decoded before the failure ('ok') was disposed, not leaked.
    expect(memory().tensors).toBe(before);
  });

  it('negative int64 and large uint64 values', () => {
    const i64 = new DataView(new ArrayBuffer(24));
    i64.setBigInt64(0, -2147483648n, true);
    i64.setBigInt64(8, -1n, true);
    i64.setBigInt64(16, -2147483649n, true);
    const ok = craft({ v: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(i64.buffer, 0, 16));
    expect(Array.from(deserializeSafetensors(ok).tensors.get('v')!.dataSync())).toEqual([-2147483648, -1]);
    const bad = craft({ v: { dtype: 'I64', shape: [3], data_offsets: [0, 24] } }, new Uint8Array(i64.buffer));
    expect(() => deserializeSafetensors(bad)).toThrow(/tensor 'v' \(I64, shape \[3\]\): element 2 is -2147483649/);
    const u64 = new DataView(new ArrayBuffer(8));
    u64.setBigUint64(0, 2n ** 63n, true);
    expect(() => deserializeSafetensors(craft({ u: { dtype: 'U64', shape: [], data_offsets: [0, 8] } }, new Uint8Array(u64.buffer)))).toThrow(
      /tensor 'u' \(U64, shape \[\]\): element 0 is 9223372036854775808/,
    );
  });
});

describe('half and bfloat16 widening, all 65536 bit patterns', () => {
  /** Independent oracle: the IEEE formula in float64 arithmetic. */
  function minifloat(bitsValue: number, expBits: number, mantBits: number): number {
    const bias = 2 ** (expBits - 1) - 1;
    const sign = bitsValue >>> (expBits + mantBits) ? -1 : 1;
    const exp = (bitsValue >>> mantBits) & (2 ** expBits - 1);
    const mant = bitsValue & (2 ** mantBits - 1);
    if (exp === 2 ** expBits - 1) return mant ? NaN : sign * Infinity;
    if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
    return sign * (1 + mant / 2 ** mantBits) * 2 ** (exp - bias);
  }

  for (const [dtype, expBits, mantBits] of [['F16', 5, 10], ['BF16', 8, 7]] as const) {
    for (const native of [true, false]) {
      it(`${dtype} (${native ? 'native' : 'DataView'} path)`, () => {
        const all = new Uint16Array(65536).map((_, i) => i);
        const bytes = craft({ all: { dtype, shape: [256, 256], data_offsets: [0, 131072] } }, new Uint8Array(all.buffer));
        const prev = _setNativeByteOrderForTesting(native);
        try {
          const t = deserializeSafetensors(bytes).tensors.get('all')!;
          expect(t.dtype).toBe('float32');
          const got = t.dataSync() as Float32Array;
          let mismatches = 0;
          for (let h = 0; h < 65536; h++) if (!Object.is(got[h], minifloat(h, expBits, mantBits))) mismatches++;
          expect(mismatches).toBe(0);
        } finally {
          _setNativeByteOrderForTesting(prev);
        }
        if (dtype === 'F16') {
          const b = new Uint32Array(deserializeSafetensors(bytes).tensors.get('all')!.dataSync().buffer);
          // NaN payloads carry over as hardware (F16C) widening does: quiet 0x7e00 -> 0x7fc00000.
          expect([b[0x7e00], b[0xfc01], b[0x0001], b[0x03ff]]).toEqual([0x7fc00000, 0xff802000, 0x33800000, 0x387fc000]);
        }
      });
    }
  }
});

describe('safetensors validation', () => {
  const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
  const cases: [string, Uint8Array, RegExp][] = [
    ['a buffer shorter than 8 bytes', new Uint8Array(5), /5 bytes is too short: a safetensors file starts with an 8-byte header length/],
    ['header length past the end', (() => { const b = craft({}); new DataView(b.buffer).setUint32(0, 1000, true); return b; })(), /header length 1000 runs past the end of the 10-byte buffer \(expected at least 1008 bytes\)/],
    ['absurd header length', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(4, 1, true); return b; })(), /header length 4294967296 exceeds the 100000000-byte limit/],
    ['JSON syntax error', craft(null, undefined, '{"a": {"dtype": "F32",'), /header is not valid JSON/],
    ['header not an object', craft(null, undefined, '[1, 2]'), /header must be a JSON object starting with '\{', found "\[1, 2\]"/],
    ['invalid UTF-8', craft(null, undefined, '{"\udc00"}').map((v, i) => (i === 10 ? 0xff : v)), /not valid UTF-8/],
    ['unsupported dtype', craft({ z: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'z': dtype string "C64" is not supported; expected one of F64, F32, F16, BF16/],
    ['bad shape', craft({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, f32(2)), /tensor 'w': shape must be an array of non-negative integers, found array \[2,-1\]/],
    ['bad offsets', craft({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, f32(2)), /tensor 'w': data_offsets must be \[begin, end\] with 0 <= begin <= end, found array \[8,0\]/],
    ['missing entry fields', craft({ w: 3 }), /tensor 'w': expected \{"dtype", "shape", "data_offsets"\}, found number 3/],
    ['byte length mismatch', craft({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, f32(5)), /tensor 'w': F32 with shape \[2, 3\] needs 6 \* 4 = 24 bytes, but data_offsets \[0, 20\] span 20/],
    ['offsets out of range', craft({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(3)), /tensor 'w': data_offsets \[0, 16\] run past the end of the 12-byte data section/],
    [
      'overlap',
      craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3)),
      /tensor 'b': data_offsets \[4, 12\] overlap tensor 'a' \[0, 8\]; expected it to start at 8/,
    ],
    [
      'gap',
      craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32(3)),
      /tensor 'b': data_offsets \[8, 12\] leave a gap; expected it to start at 4, where tensor 'a' ends/,
    ],
    ['gap at the start', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), /tensor 'a': data_offsets \[4, 8\] leave a gap; expected it to start at 0/],
    ['trailing bytes', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2)), /data section is 8 bytes but the tensors cover 4/],
    ['non-string metadata', craft({ __metadata__: { epoch: 3 } }), /__metadata__\['epoch'\] must be a string, found number 3/],
  ];
  it.each(cases)('rejects %s with a message naming what was expected', (_name, bytes, message) => {
    expect(() => deserializeSafetensors(bytes)).toThrow(message);
  });

  it('writer errors name the tensor or key', () => {
    const t = tensor([1]);
    expect(() => serializeSafetensors({ __metadata__: t })).toThrow(/'__metadata__' is reserved/);
    expect(() => serializeSafetensors({ w: [1, 2] as unknown as Tensor })).toThrow(/tensors\['w'\] must be a Tensor, got array \[1,2\]/);
    const gone = tensor([1, 2]);
    gone.dispose();
    expect(() => serializeSafetensors({ gone })).toThrow(/tensors\['gone'\] \(shape \[2\]\) was disposed/);
    expect(() => serializeSafetensors({ w: t }, { step: 3 as unknown as string })).toThrow(/metadata\['step'\] must be a string, got number 3/);
  });
});

describe('files and module checkpoints', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'methodzoo-io-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saveSafetensors / loadSafetensors round-trip bit-exactly and leave no temporary file', async () => {
    const src = sampleTensors();
    const path = join(dir, 'ckpt.safetensors');
    await saveSafetensors(path, src, { step: '10' });
    await saveSafetensors(path, src, { step: '11' }); // overwrites in place
    expect(await readdir(dir)).toEqual(['ckpt.safetensors']);
    const { tensors, metadata } = await loadSafetensors(path);
    expectSameTensors(tensors, src);
    expect(metadata).toEqual({ step: '11' });
  });

  it('loadSafetensors errors name the file', async () => {
    const path = join(dir, 'truncated.safetensors');
    const bytes = serializeSafetensors({ w: tensor([1, 2, 3]) });
    await writeFile(path, bytes.subarray(0, bytes.length - 1));
    await expect(loadSafetensors(path)).rejects.toThrow(`loadSafetensors: ${path}: tensor 'w': data_offsets [0, 12] run past the end of the 11-byte data section`);
  });

  /** A stand-in with nn.Module's stateDict / loadStateDict contract (copy-in with assign, strict keys). */
  class TinyModule {
    readonly params: Map<string, Tensor>;
    constructor(seed: number) {
      this.params = new Map([
        ['fc.weight', tensor([[seed, -seed], [0.25, seed / 3]])],
        ['fc.bias', tensor(new Float64Array([seed, -0]))],
        ['bn.num_batches_tracked', tensor(new Int32Array([seed]))],
      ]);
    }
    stateDict(): Map<string, Tensor> {
      return this.params;
    }
    loadStateDict(state: Map<string, Tensor>, opts: { strict?: boolean }): { missingKeys: string[]; unexpectedKeys: string[] } {
      const missingKeys = [...this.params.keys()].filter((k) => !state.has(k));
      const unexpectedKeys = [...state.keys()].filter((k) => !this.params.has(k));
      if (opts.strict && (missingKeys.length || unexpectedKeys.length)) throw new Error(`missing ${missingKeys}, unexpected ${unexpectedKeys}`);
      for (const [k, v] of state) this.params.get(k)?.assign(v);
      return { missingKeys, unexpectedKeys };
    }
  }

  it('saveModule / loadModule restore every parameter by name without leaking tensors', async () => {
    const path = join(dir, 'module.safetensors');
    const a = new TinyModule(3);
    await saveModule(a, path, { arch: 'tiny' });
    const b = new TinyModule(5);
    const identity = b.params.get('fc.weight')!;
    const before = memory().tensors;
    const result = await loadModule(b, path);
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expectSameTensors(b.params, a.params);
    expect(b.params.get('fc.weight')).toBe(identity);
    expect(memory().tensors).toBe(before);
    expect((await loadSafetensors(path)).metadata).toEqual({ arch: 'tiny' });
  });

  it('loadModule passes strict through (default true)', async () => {
    const path = join(dir, 'partial.safetensors');
    await saveSafetensors(path, { 'fc.weight': tensor([[1, 2], [3, 4]]) });
    const m = new TinyModule(1);
    const before = memory().tensors;
    await expect(loadModule(m, path)).rejects.toThrow(/missing fc.bias,bn.num_batches_tracked/);
    expect(memory().tensors).toBe(before);
    expect(await loadModule(m, path, { strict: false })).toEqual({ missingKeys: ['fc.bias', 'bn.num_batches_tracked'], unexpectedKeys: [] });
    expect(m.params.get('fc.weight')!.tolist()).toEqual([[1, 2], [3, 4]]);
  });
});
