/**
 * The same cases on TensorFlow.js with its pure-JS `cpu` backend (the closest peer to a pure-TS
 * reference backend). Convolutions use tfjs's native NHWC layout so it is not charged for transposes.
 */
import * as tf from '@tensorflow/tfjs';
import { CNN, CONV, ELEMENTWISE_N, MATMUL_SIZES } from './cases.js';
import { measure, type Sample } from './timing.js';

export interface TfjsOptions {
  repeats: number;
  /**
   * Repeats of the two cases tfjs-cpu is very slow at (~20 s a call: conv2d backward and the CNN
   * step, both dominated by its naive filter-gradient kernel); they run without warm-up. 0 skips them.
   */
  slowRepeats: number;
  only: (id: string) => boolean;
}

export interface TfjsResult {
  id: string;
  sample: Sample;
  extra?: Record<string, unknown>;
}

// tfjs-cpu kernels run synchronously; dataSync on a 1-element reduction forces completion cheaply.
function sync(t: tf.Tensor): void {
  t.dataSync();
}

function cnnModel() {
  const init = (shape: number[], fanIn: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', 0));
  // HWIO filters, NHWC activations
  const w1 = init([3, 3, 1, 16], 9), b1 = init([16], 9);
  const w2 = init([3, 3, 16, 32], 144), b2 = init([32], 144);
  const w3 = init([3, 3, 32, 64], 288), b3 = init([64], 288);
  const wl = init([64, 10], 64), bl = init([10], 64);
  const x = tf.randomNormal([CNN.batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([CNN.batch], 0, 10, 'int32', 2), 10);
  // PyTorch's padding=1 with stride 2 on 28 -> 14 and 14 -> 7; 'same' gives the same sizes, and
  // explicit pads keep the arithmetic identical.
  const pad1: [[0, 0], [1, 1], [1, 1], [0, 0]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const loss = () =>
    tf.tidy(() => {
      const conv = (h: tf.Tensor4D, w: tf.Variable, b: tf.Variable, stride: number) => tf.relu(tf.add(tf.conv2d(h, w as tf.Tensor4D, stride, pad1), b)) as tf.Tensor4D;
      let h = conv(x as tf.Tensor4D, w1, b1, 1);
      h = conv(h, w2, b2, 2);
      h = conv(h, w3, b3, 2);
      const f = tf.mean(h, [1, 2]);
      const logits = tf.add(tf.matMul(f as tf.Tensor2D, wl as tf.Tensor2D), bl);
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    });
  const opt = tf.train.sgd(CNN.lr);
  return () => {
    const l = opt.minimize(loss, true)!;
    const v = l.dataSync()[0]!;
    l.dispose();
    return v;
  };
}

export async function runTfjs(opts: TfjsOptions): Promise<TfjsResult[]> {
  await tf.setBackend('cpu');
  await tf.ready();
  const out: TfjsResult[] = [];
  const r = opts.repeats;
  const timed = (fn: () => tf.Tensor | void, o: { repeats: number; warmup?: number; inner?: number }) =>
    measure(
      () =>
        tf.tidy(() => {
          const t = fn();
          if (t) sync(t);
        }),
      o,
    );

  for (const n of MATMUL_SIZES) {
    const id = `matmul_${n}`;
    if (!opts.only(id)) continue;
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    out.push({ id, sample: timed(() => tf.matMul(a, b), { warmup: 1, repeats: n >= 1024 ? Math.min(r, 3) : r }) });
    tf.dispose([a, b]);
  }

  if (opts.only('conv_fwd') || opts.only('conv_fwd_bwd')) {
    const x = tf.randomNormal([CONV.n, CONV.h, CONV.w, CONV.c]) as tf.Tensor4D;
    const w = tf.randomNormal([CONV.k, CONV.k, CONV.c, CONV.o]) as tf.Tensor4D;
    const pad: [[0, 0], [1, 1], [1, 1], [0, 0]] = [[0, 0], [CONV.pad, CONV.pad], [CONV.pad, CONV.pad], [0, 0]];
    if (opts.only('conv_fwd')) out.push({ id: 'conv_fwd', sample: timed(() => tf.conv2d(x, w, 1, pad), { warmup: 1, repeats: Math.min(r, 3) }) });
    if (opts.only('conv_fwd_bwd')) {
      const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, pad)));
      if (opts.slowRepeats > 0) {
        const sample = timed(() => {
          const [dx, dw] = g([x, w]);
          sync(dx!);
          return dw;
        }, { warmup: 0, repeats: opts.slowRepeats, inner: 1 });
        out.push({ id: 'conv_fwd_bwd', sample, extra: { note: 'no warm-up (each call is ~20 s)' } });
      }
    }
    tf.dispose([x, w]);
  }

  if (opts.only('cnn_step') && opts.slowRepeats > 0) {
    const step = cnnModel();
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    const sample = measure(() => losses.push(step()), { warmup: 0, repeats: opts.slowRepeats, inner: 1 });
    out.push({ id: 'cnn_step', sample, extra: { firstLoss: losses[0], lastLoss: losses[losses.length - 1], tensorsDelta: tf.memory().numTensors - before, note: 'no warm-up (each step is ~20 s)' } });
  }

  if (opts.only('add_4m') || opts.only('exp_4m')) {
    const a = tf.randomNormal([ELEMENTWISE_N]);
    const b = tf.randomNormal([ELEMENTWISE_N]);
    // dataSync of the full result would be a 16 MB copy; tfjs-cpu has already computed it synchronously
    const run = (fn: () => tf.Tensor) => measure(() => tf.tidy(() => void fn()), { repeats: r });
    if (opts.only('add_4m')) out.push({ id: 'add_4m', sample: run(() => tf.add(a, b)) });
    if (opts.only('exp_4m')) out.push({ id: 'exp_4m', sample: run(() => tf.exp(a)) });
    tf.dispose([a, b]);
  }

  if (opts.only('dispatch_add1')) {
    const a = tf.scalar(1.5);
    const b = tf.scalar(2.5);
    const batch = 1000;
    const s = measure(() => tf.tidy(() => { for (let i = 0; i < batch; i++) tf.add(a, b); }), { repeats: r, warmup: 20 });
    out.push({ id: 'dispatch_add1', sample: { ...s, median: s.median / batch, min: s.min / batch, cpuMedian: s.cpuMedian / batch, inner: s.inner * batch } });
    tf.dispose([a, b]);
  }
  return out;
}
