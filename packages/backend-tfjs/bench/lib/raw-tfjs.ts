/**
 * The peer: the same small-CNN training step written directly in TensorFlow.js on
 * tfjs-backend-wasm (NHWC, tf.conv2d, tf.train.sgd). tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter kernel, so the peer registers one built from the forward convolution
 * (the filter gradient is a convolution of the input with the output gradient, dilated by the
 * stride), the fastest route tfjs itself offers; the input gradient stays on tfjs-wasm's own
 * Conv2DBackpropInput.
 */
// the full tfjs package registers the gradients (tfjs-core alone has none); the engine is shared
import * as tf from '@tensorflow/tfjs';

let registered = false;
export function registerFilterGradient(): void {
  if (registered || tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  registered = true;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
      const { strides, pad, filterShape } = attrs as unknown as { strides: [number, number] | number; pad: [[number, number], [number, number], [number, number], [number, number]]; filterShape: [number, number, number, number] };
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      const [kh, kw] = filterShape;
      return tf.tidy(() => {
        const xp = tf.pad(x, pad);
        // [N, H, W, Ci] -> [Ci, H, W, N]: batch becomes the contraction channel
        const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
        const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [OH, OW, N, Co]
        const r = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [sh, sw]); // [Ci, >=kh, >=kw, Co]
        return tf.transpose(tf.slice(r, [0, 0, 0, 0], [-1, kh, kw, -1]), [1, 2, 0, 3]);
      }) as unknown as tf.TensorInfo;
    },
  });
}

/** Returns one SGD step (forward, backward, update) that reads back the loss. */
export function rawTfjsCnn(batch: number, lr: number): () => number {
  registerFilterGradient();
  const init = (shape: number[], fanIn: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', 0));
  const w1 = init([3, 3, 1, 16], 9), b1 = init([16], 9);
  const w2 = init([3, 3, 16, 32], 144), b2 = init([32], 144);
  const w3 = init([3, 3, 32, 64], 288), b3 = init([64], 288);
  const wl = init([64, 10], 64), bl = init([10], 64);
  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10);
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
  const opt = tf.train.sgd(lr);
  return () => {
    const l = opt.minimize(loss, true)!;
    const v = l.dataSync()[0]!;
    l.dispose();
    return v;
  };
}
