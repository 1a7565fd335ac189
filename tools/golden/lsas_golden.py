"""Golden fixture for @methodzoo/lsas: a PyTorch LSAS-SE block written here from the paper's figure 3
(arXiv 2305.05200) and the research notes' equations, not from the official code.

    python3 tools/golden/lsas_golden.py   # rewrites packages/lsas/test/fixtures/lsas_se.json

    v   = fc2(relu(fc1(mean_{h,w} x)))            SE logits, [N, C]
    s_0 = v,  s_k = w_k * s_{k-1} + b_k            k = 1..n
    g   = sigmoid(v) * prod_k sigmoid(s_k)
    y   = x * g[:, :, None, None]

The fixture (float64) holds the state dict under the TypeScript keys (`base.fc1.weight`, ...,
`lsas.w1`, `lsas.b1`, ...), the input, the gate, the output, an upstream gradient and the gradients
of sum(y * upstream) with respect to the input and every parameter. w_k and b_k are random (not
their 0.5 / -0.5 init) so the chain's gradients are not degenerate.
"""

import json
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages" / "lsas" / "test" / "fixtures"
torch.set_num_threads(1)


class LSASSE(nn.Module):
    def __init__(self, channels, reduction, order):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.w = nn.ParameterList([nn.Parameter(torch.full((channels,), 0.5)) for _ in range(order)])
        self.b = nn.ParameterList([nn.Parameter(torch.full((channels,), -0.5)) for _ in range(order)])

    def gate(self, x):
        v = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3)))))
        g = torch.sigmoid(v)
        s = v
        for w, b in zip(self.w, self.b):
            s = w * s + b
            g = g * torch.sigmoid(s)
        return g

    def forward(self, x):
        g = self.gate(x)
        return x * g[:, :, None, None], g


def main():
    torch.manual_seed(7)
    C, r, n = 8, 4, 2
    m = LSASSE(C, r, n).double()
    with torch.no_grad():
        for p in list(m.w) + list(m.b):
            p.copy_(torch.randn_like(p))
    state = {
        "base.fc1.weight": m.fc1.weight, "base.fc1.bias": m.fc1.bias,
        "base.fc2.weight": m.fc2.weight, "base.fc2.bias": m.fc2.bias,
    }
    for k in range(n):
        state[f"lsas.w{k + 1}"] = m.w[k]
        state[f"lsas.b{k + 1}"] = m.b[k]
    x = torch.randn(2, C, 3, 3, dtype=torch.float64, requires_grad=True)
    y, g = m(x)
    up = torch.randn_like(y)
    names = list(state)
    grads = torch.autograd.grad((y * up).sum(), [x] + [state[k] for k in names])
    flat = lambda t: {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}
    fixture = {
        "channels": C, "reduction": r, "order": n,
        "state": {k: flat(v) for k, v in state.items()},
        "input": flat(x), "gate": flat(g), "output": flat(y), "upstream": flat(up),
        "grad": {"input": flat(grads[0]), **{k: flat(t) for k, t in zip(names, grads[1:])}},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "lsas_se.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT / 'lsas_se.json'}")


if __name__ == "__main__":
    main()
