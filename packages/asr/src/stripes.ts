/**
 * The stripe observation (arXiv 2304.06345, section 3.1 and fig. 1): stacking a trained
 * channel-attention module's gates over many images gives a matrix A [images x channels] whose
 * columns are nearly constant (vertical stripes in its heat map), while the module's input varies
 * much more across images. Our statistic (the paper's exact formula was not available):
 *
 *   meanStd    = mean_c std_n A[n, c]          within-channel spread over inputs
 *   betweenStd = std_c mean_n A[n, c]          spread of the channel means
 *   S          = meanStd / betweenStd          small S = stripes
 *
 * (population standard deviations), reported for the gate and for the gate's input, the
 * per-channel spatial mean of the features it sees.
 */
import { mean, nn, noGrad, scope, Tensor, type ImageMatrix } from '@methodzoo/core';
import { SEBlock } from '@methodzoo/models';
import { ASRNorm } from './asr-norm.js';
import { ECAGate, SEGate } from './gates.js';

export interface SpreadStats {
  meanStd: number;
  betweenStd: number;
  S: number;
}

export interface StripeLayerStats {
  /** Dotted module name. */
  name: string;
  /** 'live' for an input-dependent gate (SEBlock, SEGate, ECAGate); 'asr' for an ASRNorm (a constant gate). */
  kind: 'live' | 'asr';
  channels: number;
  /** Statistics of the gate values A [images x channels]. */
  gate: SpreadStats;
  /** The same statistics of the gate's input after global average pooling. */
  input: SpreadStats;
  /** A, row-major [images x channels], when `keepMatrix`. */
  matrix?: Float64Array;
  /** Heat map of A (rows = images, columns = channels, gate value as brightness), when `keepMatrix`. */
  heatmap?: ImageMatrix;
}

export interface StripeStatsOptions {
  /** Batch size when `inputs` is one tensor (128). */
  batchSize?: number;
  /** Keep the matrix and its heat map (true). */
  keepMatrix?: boolean;
}

/** Population spread statistics of a row-major [rows x cols] matrix. */
export function spreadStats(a: ArrayLike<number>, rows: number, cols: number): SpreadStats {
  let withinSum = 0;
  const means = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let n = 0; n < rows; n++) s += a[n * cols + c]!;
    const m = s / rows;
    let v = 0;
    for (let n = 0; n < rows; n++) v += (a[n * cols + c]! - m) ** 2;
    withinSum += Math.sqrt(v / rows);
    means[c] = m;
  }
  const mm = means.reduce((x, y) => x + y, 0) / cols;
  const betweenStd = Math.sqrt(means.reduce((x, y) => x + (y - mm) ** 2, 0) / cols);
  const meanStd = withinSum / cols;
  return { meanStd, betweenStd, S: meanStd / betweenStd };
}

interface Recorder {
  name: string;
  kind: 'live' | 'asr';
  channels: number;
  gate: number[];
  input: number[];
}

function rowsOf(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>);
}

/**
 * Runs `inputs` through `model` in eval mode without gradients and records, for every live channel
 * gate (an SEBlock of @methodzoo/models, or an SEGate / ECAGate used on features) and every ASRNorm,
 * the gate of each input image and the average-pooled features it gates. For an ASRNorm the gate is
 * attention(psi) (the same row for every image) and the input is the pooled BN output, which a live
 * gate in its place would see. The module's training flags are restored afterwards.
 *
 * `inputs`: one tensor [N, C, H, W] (split into batches) or an iterable of batches.
 */
export function stripeStats(model: nn.Module, inputs: Tensor | Iterable<Tensor>, opts: StripeStatsOptions = {}): StripeLayerStats[] {
  const records: Recorder[] = [];
  const handles: nn.RemovableHandle[] = [];
  const asrGates = new Set<nn.Module>();
  for (const m of model.modules()) if (m instanceof ASRNorm) asrGates.add(m.attention);
  for (const [name, m] of model.namedModules()) {
    if (m instanceof SEBlock) {
      const r: Recorder = { name, kind: 'live', channels: m.channels, gate: [], input: [] };
      records.push(r);
      handles.push(m.fc1.registerForwardHook((_mod, args) => void r.input.push(...rowsOf(args[0] as Tensor))));
      handles.push(m.fc2.registerForwardHook((_mod, _args, out) => void scope(() => r.gate.push(...rowsOf((out as Tensor).sigmoid())))));
    } else if ((m instanceof SEGate || m instanceof ECAGate) && !asrGates.has(m)) {
      const r: Recorder = { name, kind: 'live', channels: m.channels, gate: [], input: [] };
      records.push(r);
      handles.push(
        m.registerForwardHook((_mod, args, out) =>
          void scope(() => {
            r.input.push(...rowsOf(mean(args[0] as Tensor, [2, 3])));
            r.gate.push(...rowsOf(out as Tensor));
          }),
        ),
      );
    } else if (m instanceof ASRNorm) {
      const r: Recorder = { name, kind: 'asr', channels: m.numFeatures, gate: [], input: [] };
      records.push(r);
      handles.push(
        m.bn.registerForwardHook((_mod, _args, out) =>
          void scope(() => {
            const t = out as Tensor;
            r.input.push(...rowsOf(mean(t, [2, 3])));
            const g = rowsOf(m.gate());
            for (let n = 0; n < t.shape[0]!; n++) r.gate.push(...g);
          }),
        ),
      );
    }
  }
  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  try {
    noGrad(() => {
      if (inputs instanceof Tensor) {
        const n = inputs.shape[0]!;
        const bs = opts.batchSize ?? 128;
        for (let i = 0; i < n; i += bs) scope(() => void model.call(inputs.slice(0, i, Math.min(n, i + bs))));
      } else for (const x of inputs) scope(() => void model.call(x));
    });
  } finally {
    for (const h of handles) h.remove();
    for (const [m, t] of modes) m.training = t;
  }
  const keepMatrix = opts.keepMatrix ?? true;
  return records.map((r) => {
    const rows = r.gate.length / r.channels;
    const out: StripeLayerStats = {
      name: r.name,
      kind: r.kind,
      channels: r.channels,
      gate: spreadStats(r.gate, rows, r.channels),
      input: spreadStats(r.input, rows, r.channels),
    };
    if (keepMatrix) {
      out.matrix = Float64Array.from(r.gate);
      out.heatmap = { width: r.channels, height: rows, channels: 1, pixels: Float64Array.from(r.gate, (v) => Math.min(1, Math.max(0, v))) };
    }
    return out;
  });
}
