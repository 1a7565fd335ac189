/**
 * The benchmark cases, described once so every peer (ours, tfjs-cpu, torch, numpy) times the same
 * work and the report derives the same throughput from each median.
 */

export type Unit = 'GFLOP/s' | 'GB/s' | 'steps/s' | 'us/op';

export interface CaseSpec {
  id: string;
  label: string;
  /** The headline unit the table prints. */
  unit: Unit;
  /** Floating-point operations per call (GEMM-like cases). */
  flops?: number;
  /** Bytes read + written per call (elementwise cases). */
  bytes?: number;
  /** Output elements per call (elementwise cases, for Gelem/s). */
  elems?: number;
}

export const MATMUL_SIZES = [256, 512, 1024] as const;

/** conv2d case geometry: batch 32, 16 -> 32 channels, 28x28, 3x3, padding 1. */
export const CONV = { n: 32, c: 16, o: 32, h: 28, w: 28, k: 3, pad: 1 } as const;
const convFlops = 2 * CONV.n * CONV.o * CONV.h * CONV.w * CONV.c * CONV.k * CONV.k;

/** The small CNN: batch 64 of 1x28x28 through three 3x3 convs (1->16, 16->32/2, 32->64/2), GAP, linear 64->10. */
export const CNN = { batch: 64, lr: 0.05 } as const;

export const ELEMENTWISE_N = 4 * 1024 * 1024;

export const CASES: CaseSpec[] = [
  ...MATMUL_SIZES.map((n): CaseSpec => ({ id: `matmul_${n}`, label: `matmul ${n}x${n}x${n}`, unit: 'GFLOP/s', flops: 2 * n ** 3 })),
  { id: 'conv_fwd', label: 'conv2d fwd 32x16x28x28, 3x3 -> 32', unit: 'GFLOP/s', flops: convFlops },
  // forward + grad of input + grad of weight: three GEMMs of the same size
  { id: 'conv_fwd_bwd', label: 'conv2d fwd+bwd (dx, dw)', unit: 'GFLOP/s', flops: 3 * convFlops },
  { id: 'cnn_step', label: 'CNN train step, batch 64', unit: 'steps/s' },
  { id: 'add_4m', label: 'add 4M f32', unit: 'GB/s', bytes: 3 * 4 * ELEMENTWISE_N, elems: ELEMENTWISE_N },
  { id: 'exp_4m', label: 'exp 4M f32', unit: 'GB/s', bytes: 2 * 4 * ELEMENTWISE_N, elems: ELEMENTWISE_N },
  { id: 'dispatch_add1', label: 'dispatch: 1-element add', unit: 'us/op' },
];

export const CASE_BY_ID = new Map(CASES.map((c) => [c.id, c]));

/** A case's headline number from seconds per call, in its unit (higher is better except for us/op). */
export function throughput(spec: CaseSpec, seconds: number): number {
  switch (spec.unit) {
    case 'GFLOP/s':
      return spec.flops! / seconds / 1e9;
    case 'GB/s':
      return spec.bytes! / seconds / 1e9;
    case 'steps/s':
      return 1 / seconds;
    case 'us/op':
      return seconds * 1e6;
  }
}
