/** The cases on @methodzoo/core's reference backend. */
import {
  add, backward, conv2d, crossEntropy, exp, grad, keep, linear, matmul, mean, memory, mul, noGrad, randint, randn, relu, scope, setBackend, sub, sum, type Tensor, Generator,
} from '@methodzoo/core';
import { CNN, CONV, ELEMENTWISE_N } from './cases.js';
import { measure, type Sample } from './timing.js';

export interface OursOptions {
  repeats: number;
  cnnRepeats: number;
  only: (id: string) => boolean;
}

export interface CnnParams {
  params: Tensor[];
  x: Tensor;
  y: Tensor;
}

/** Kaiming-normal init (std sqrt(2 / fan_in)), the same in every peer. */
function param(shape: number[], fanIn: number, gen: Generator): Tensor {
  return keep(noGrad(() => mul(randn(shape, { generator: gen }), Math.sqrt(2 / fanIn))).requiresGrad_());
}

export function makeCnn(seed = 0): CnnParams {
  const gen = new Generator(seed);
  const params = [
    param([16, 1, 3, 3], 9, gen), param([16], 9, gen),
    param([32, 16, 3, 3], 144, gen), param([32], 144, gen),
    param([64, 32, 3, 3], 288, gen), param([64], 288, gen),
    param([10, 64], 64, gen), param([10], 64, gen),
  ];
  const x = keep(randn([CNN.batch, 1, 28, 28], { generator: gen }));
  const y = keep(randint(0, 10, [CNN.batch], { generator: gen }));
  return { params, x, y };
}

/** One SGD step with the functional API; everything it creates is freed by the scope. Returns the loss. */
export function cnnStep({ params, x, y }: CnnParams, lr: number = CNN.lr): number {
  return scope(() => {
    const [w1, b1, w2, b2, w3, b3, wl, bl] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    let h = relu(conv2d(x, w1, b1, { padding: 1 }));
    h = relu(conv2d(h, w2, b2, { stride: 2, padding: 1 }));
    h = relu(conv2d(h, w3, b3, { stride: 2, padding: 1 }));
    const logits = linear(mean(h, [2, 3]), wl, bl);
    const loss = crossEntropy(logits, y);
    backward(loss);
    noGrad(() => {
      for (const p of params) {
        p.assign(sub(p, mul(p.grad!, lr)));
        p.grad!.dispose();
        p.grad = null;
      }
    });
    return loss.item();
  });
}

export interface OursResult {
  id: string;
  sample: Sample;
  extra?: Record<string, unknown>;
}

export function runOurs(opts: OursOptions): OursResult[] {
  setBackend('reference');
  const out: OursResult[] = [];
  const gen = new Generator(1);
  const r = opts.repeats;

  for (const n of [256, 512, 1024]) {
    const id = `matmul_${n}`;
    if (!opts.only(id)) continue;
    const a = randn([n, n], { generator: gen });
    const b = randn([n, n], { generator: gen });
    out.push({ id, sample: measure(() => scope(() => void matmul(a, b)), { warmup: 1, repeats: n >= 1024 ? Math.min(r, 5) : r }) });
  }

  if (opts.only('conv_fwd') || opts.only('conv_fwd_bwd')) {
    const x = randn([CONV.n, CONV.c, CONV.h, CONV.w], { generator: gen, requiresGrad: true });
    const w = randn([CONV.o, CONV.c, CONV.k, CONV.k], { generator: gen, requiresGrad: true });
    if (opts.only('conv_fwd')) out.push({ id: 'conv_fwd', sample: measure(() => scope(() => noGrad(() => void conv2d(x, w, null, { padding: CONV.pad }))), { repeats: r }) });
    if (opts.only('conv_fwd_bwd')) {
      out.push({ id: 'conv_fwd_bwd', sample: measure(() => scope(() => void grad(sum(conv2d(x, w, null, { padding: CONV.pad })), [x, w])), { repeats: r }) });
    }
  }

  if (opts.only('cnn_step')) {
    const net = makeCnn(0);
    const before = memory();
    const losses: number[] = [];
    const sample = measure(() => losses.push(cnnStep(net)), { warmup: 2, repeats: opts.cnnRepeats, inner: 1 });
    const after = memory();
    out.push({
      id: 'cnn_step',
      sample,
      extra: { firstLoss: losses[0], lastLoss: losses[losses.length - 1], memoryTensorsDelta: after.tensors - before.tensors, memoryBytesDelta: after.bytes - before.bytes },
    });
  }

  if (opts.only('add_4m') || opts.only('exp_4m')) {
    const a = randn([ELEMENTWISE_N], { generator: gen });
    const b = randn([ELEMENTWISE_N], { generator: gen });
    if (opts.only('add_4m')) out.push({ id: 'add_4m', sample: measure(() => scope(() => void add(a, b)), { repeats: r }) });
    if (opts.only('exp_4m')) out.push({ id: 'exp_4m', sample: measure(() => scope(() => void exp(a)), { repeats: r }) });
  }

  if (opts.only('dispatch_add1')) {
    const a = randn([1], { generator: gen });
    const b = randn([1], { generator: gen });
    // scope per batch of 1000 adds, so the scope's own cost is amortised as in a real program
    const batch = 1000;
    const s = measure(() => scope(() => { for (let i = 0; i < batch; i++) add(a, b); }), { repeats: r, warmup: 20 });
    out.push({ id: 'dispatch_add1', sample: { ...s, median: s.median / batch, min: s.min / batch, cpuMedian: s.cpuMedian / batch, inner: s.inner * batch } });
  }
  return out;
}
