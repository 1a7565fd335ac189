/**
 * The small MLP training loop the flat-memory tests run on every backend: a step creates graph,
 * gradients and updated parameters inside a scope and returns only the loss.
 */
import * as mz from '../../src/index.js';

export function smallMlpTraining(g: mz.Generator): { step: () => mz.Tensor; all: mz.Tensor[] } {
  const w1 = mz.keep(mz.randn([8, 4], { generator: g }).mul(0.3)).requiresGrad_();
  const b1 = mz.keep(mz.zeros([8])).requiresGrad_();
  const w2 = mz.keep(mz.randn([1, 8], { generator: g }).mul(0.3)).requiresGrad_();
  const b2 = mz.keep(mz.zeros([1])).requiresGrad_();
  const params = [w1, b1, w2, b2];
  const x = mz.keep(mz.randn([16, 4], { generator: g }));
  const y = mz.keep(x.sum(1, { keepdim: true }).sin());
  const step = () =>
    mz.scope(() => {
      const h = mz.linear(x, w1, b1).tanh();
      const loss = mz.mseLoss(mz.linear(h, w2, b2), y);
      loss.backward();
      mz.noGrad(() => {
        for (const p of params) {
          p.assign(p.sub(p.grad!.mul(0.05)));
          p.grad!.dispose();
          p.grad = null;
        }
      });
      return loss.detach();
    });
  return { step, all: [...params, x, y] };
}
