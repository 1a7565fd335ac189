"""Golden values for @methodzoo/mirror-gradient: a short VBPR trajectory under Adam + Mirror Gradient,
computed with PyTorch from the method's description (official-trainer semantics, written from the
spec, not from the authors' code), written to packages/mirror-gradient/test/fixtures/vbpr-mg.json.

Run from the repository root:  python3 tools/golden/mirror_gradient_golden.py
The TS test (packages/mirror-gradient/test/golden.test.ts) loads the same initial values and compares.

The loop, per batch index i of an epoch (counter restarting at 0 every epoch):
  mirror iteration (i % beta == 0): backward(alpha1 * L); step; zero_grad;
                                    backward(-alpha2 * L) with L re-evaluated on the same batch; step
  otherwise:                        backward(L); step
VBPR: user [gamma_u ; theta_u], item [gamma_i ; W f_i + b], score the dot product, loss
-mean log(1e-10 + sigmoid(s+ - s-)) + reg * (|U|_F + |I+|_F + |I-|_F) / B.
"""

import json
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages/mirror-gradient/test/fixtures/vbpr-mg.json"

USERS, ITEMS, FEATS, DIM = 3, 5, 3, 2
ALPHA1, ALPHA2, BETA, LR, REG = 1.0, 0.2, 2, 0.05, 0.01
BATCHES = [  # (users, positives, negatives)
    ([0, 1, 2], [1, 2, 3], [4, 0, 1]),
    ([2, 0], [0, 3], [2, 4]),
    ([1, 1, 0], [4, 2, 1], [3, 0, 2]),
]


def r5(t):
    return torch.round(t * 1e5) / 1e5


def main():
    g = torch.Generator().manual_seed(20240217)
    init = {
        "userEmb": r5(torch.randn(USERS, 2 * DIM, generator=g, dtype=torch.float64) * 0.5),
        "itemEmb": r5(torch.randn(ITEMS, DIM, generator=g, dtype=torch.float64) * 0.5),
        "proj.weight": r5(torch.randn(DIM, FEATS, generator=g, dtype=torch.float64) * 0.5),
        "proj.bias": r5(torch.randn(DIM, generator=g, dtype=torch.float64) * 0.1),
    }
    feats = r5(torch.randn(ITEMS, FEATS, generator=g, dtype=torch.float64))
    params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    opt = torch.optim.Adam(list(params.values()), lr=LR)

    def loss_of(batch):
        u, p, n = (torch.tensor(x) for x in batch)
        items = torch.cat([params["itemEmb"], feats @ params["proj.weight"].T + params["proj.bias"]], dim=1)
        ue, pe, ne = params["userEmb"][u], items[p], items[n]
        bpr = -torch.log(1e-10 + torch.sigmoid((ue * pe).sum(-1) - (ue * ne).sum(-1))).mean()
        return bpr + REG * (ue.norm() + pe.norm() + ne.norm()) / len(u)

    steps, losses = [], []
    for i, batch in enumerate(BATCHES):
        opt.zero_grad()
        loss = loss_of(batch)
        losses.append(loss.item())
        if i % BETA == 0:
            (ALPHA1 * loss).backward()
            opt.step()
            opt.zero_grad()
            (-ALPHA2 * loss_of(batch)).backward()
            opt.step()
        else:
            loss.backward()
            opt.step()
        steps.append({k: v.detach().tolist() for k, v in params.items()})

    fixture = {
        "config": {"users": USERS, "items": ITEMS, "dim": DIM, "alpha1": ALPHA1, "alpha2": ALPHA2, "beta": BETA, "lr": LR, "regWeight": REG},
        "features": feats.tolist(),
        "init": {k: v.tolist() for k, v in init.items()},
        "batches": [{"users": u, "pos": p, "neg": n} for u, p, n in BATCHES],
        "losses": losses,
        "params": steps,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
