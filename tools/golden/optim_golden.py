"""Golden values for @methodzoo/core optim: optimiser trajectories, LR schedules and gradient clipping
computed with PyTorch, written to packages/core/test/fixtures/optim.json.

Run from the repository root:  python3 tools/golden/optim_golden.py
The TS test (packages/core/test/optim.test.ts) rebuilds the same problems and compares.
"""

import json
import math
import pathlib
import warnings

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages/core/test/fixtures/optim.json"

# A fixed quadratic: loss = sum(cw * (w - tw)^2) + sum(cb * (b - tb)^2).
PROBLEM = {
    "w0": [[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]],
    "b0": [0.1, -0.4, 0.8],
    "cw": [[1.0, 0.5, 2.0], [0.25, 3.0, 1.5]],
    "tw": [[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]],
    "cb": [2.0, 1.0, 0.5],
    "tb": [0.0, 1.0, -1.0],
}
STEPS = 8

# (name, torch.optim class, options, per-group overrides for [w, b] or None); the fixture carries
# the options with TS names (weightDecay) so the test can pass them straight through.
OPTIMISERS = [
    ("sgd", "SGD", {"lr": 0.1}, None),
    ("sgd_momentum", "SGD", {"lr": 0.05, "momentum": 0.9}, None),
    ("sgd_dampening_wd", "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}, None),
    ("sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}, None),
    ("sgd_maximize", "SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}, None),
    ("sgd_groups", "SGD", {"lr": 0.05, "momentum": 0.9}, [{"lr": 0.1, "momentum": 0.5}, {"weight_decay": 0.1}]),
    ("adam", "Adam", {"lr": 0.1}, None),
    ("adam_wd", "Adam", {"lr": 0.1, "weight_decay": 0.1}, None),
    ("adam_amsgrad", "Adam", {"lr": 0.3, "betas": (0.9, 0.5), "amsgrad": True}, None),
    ("adam_maximize_betas", "Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "maximize": True}, None),
    ("adamw", "AdamW", {"lr": 0.1, "weight_decay": 0.1}, None),
    ("adamw_amsgrad", "AdamW", {"lr": 0.3, "betas": (0.9, 0.5), "weight_decay": 0.05, "amsgrad": True}, None),
    ("adamw_groups", "AdamW", {"lr": 0.1}, [{"weight_decay": 0.5}, {"lr": 0.02, "betas": (0.5, 0.9)}]),
]

SNAKE_TO_CAMEL = {"weight_decay": "weightDecay"}


def camel(opts):
    return {SNAKE_TO_CAMEL.get(k, k): (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()}


def run_optimiser(cls_name, opts, groups, dtype):
    p = {k: torch.tensor(v, dtype=dtype) for k, v in PROBLEM.items()}
    w = p["w0"].clone().requires_grad_()
    b = p["b0"].clone().requires_grad_()
    cls = getattr(torch.optim, cls_name)
    if groups is None:
        params = [w, b]
    else:
        params = [dict(params=[w], **groups[0]), dict(params=[b], **groups[1])]
    opt = cls(params, foreach=False, **opts)
    traj = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = (p["cw"] * (w - p["tw"]) ** 2).sum() + (p["cb"] * (b - p["tb"]) ** 2).sum()
        loss.backward()
        opt.step()
        traj.append({"w": w.detach().tolist(), "b": b.detach().tolist()})
    return traj


def optimiser_cases():
    cases = []
    for name, cls_name, opts, groups in OPTIMISERS:
        case = {
            "name": name,
            "optimizer": cls_name,
            "options": camel(opts),
            "groups": None if groups is None else [camel(g) for g in groups],
            "float32": run_optimiser(cls_name, opts, groups, torch.float32),
            "float64": run_optimiser(cls_name, opts, groups, torch.float64),
        }
        cases.append(case)
    # amsgrad must actually change the trajectory, or the case tests nothing.
    plain = run_optimiser("Adam", {"lr": 0.3, "betas": (0.9, 0.5)}, None, torch.float64)
    assert plain != cases[[c["name"] for c in cases].index("adam_amsgrad")]["float64"]
    return cases


def schedule(make, steps, lrs=(0.1,)):
    params = [torch.zeros(1, requires_grad=True) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)])
    sched = make(opt)
    out = [list(sched.get_last_lr())]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(list(sched.get_last_lr()))
    return out


def closed_form(make, epochs, lrs=(0.1,)):
    params = [torch.zeros(1, requires_grad=True) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)])
    sched = make(opt)
    out = []
    for e in epochs:
        opt.step()
        sched.step(e)  # the deprecated epoch argument selects the closed form
        out.append(list(sched.get_last_lr()))
    return out


def scheduler_cases():
    S = torch.optim.lr_scheduler
    cases = [
        ("step", {"type": "StepLR", "stepSize": 3, "gamma": 0.5}, lambda o: S.StepLR(o, 3, 0.5), 10, (0.1, 0.02)),
        ("multistep", {"type": "MultiStepLR", "milestones": [2, 5, 5, 8], "gamma": 0.1},
         lambda o: S.MultiStepLR(o, [2, 5, 5, 8], 0.1), 10, (0.1,)),
        ("cosine", {"type": "CosineAnnealingLR", "tMax": 5, "etaMin": 0.01},
         lambda o: S.CosineAnnealingLR(o, 5, 0.01), 23, (0.1, 0.05)),
        ("linear_warmup", {"type": "LinearLR", "startFactor": 0.25, "endFactor": 1.0, "totalIters": 4},
         lambda o: S.LinearLR(o, 0.25, 1.0, 4), 8, (0.1,)),
        ("linear_decay", {"type": "LinearLR", "startFactor": 1.0, "endFactor": 0.1, "totalIters": 5},
         lambda o: S.LinearLR(o, 1.0, 0.1, 5), 8, (0.1,)),
        ("lambda", {"type": "LambdaLR"},
         lambda o: S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (e + 1)]), 6, (0.1, 0.3)),
        ("sequential_warmup_cosine",
         {"type": "SequentialLR", "milestones": [3], "schedulers": [
             {"type": "LinearLR", "startFactor": 0.1, "endFactor": 1.0, "totalIters": 3},
             {"type": "CosineAnnealingLR", "tMax": 6, "etaMin": 0.001}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 3), S.CosineAnnealingLR(o, 6, 0.001)], [3]), 12, (0.1,)),
        ("sequential_three",
         {"type": "SequentialLR", "milestones": [4, 7], "schedulers": [
             {"type": "StepLR", "stepSize": 2, "gamma": 0.5},
             {"type": "MultiStepLR", "milestones": [1, 2], "gamma": 0.5},
             {"type": "CosineAnnealingLR", "tMax": 4, "etaMin": 0.0}]},
         lambda o: S.SequentialLR(o, [S.StepLR(o, 2, 0.5), S.MultiStepLR(o, [1, 2], 0.5), S.CosineAnnealingLR(o, 4)], [4, 7]),
         12, (0.1, 0.04)),
    ]
    out = []
    for name, spec, make, steps, lrs in cases:
        out.append({"name": name, "spec": spec, "lrs": list(lrs), "values": schedule(make, steps, lrs)})
    closed = [
        ("cosine", lambda o: S.CosineAnnealingLR(o, 5, 0.01), {"type": "CosineAnnealingLR", "tMax": 5, "etaMin": 0.01}),
        ("step", lambda o: S.StepLR(o, 3, 0.5), {"type": "StepLR", "stepSize": 3, "gamma": 0.5}),
        ("multistep", lambda o: S.MultiStepLR(o, [2, 5, 5, 8], 0.1), {"type": "MultiStepLR", "milestones": [2, 5, 5, 8], "gamma": 0.1}),
        ("linear", lambda o: S.LinearLR(o, 0.25, 1.0, 4), {"type": "LinearLR", "startFactor": 0.25, "endFactor": 1.0, "totalIters": 4}),
    ]
    epochs = [0, 1, 3, 7, 5, 2, 12, 10]
    closed_out = [
        {"name": name, "spec": spec, "lrs": [0.1], "epochs": epochs, "values": closed_form(make, epochs)}
        for name, make, spec in closed
    ]
    return out, closed_out


def clip_cases():
    grads = [
        [[0.5, -2.0, 1.5], [3.0, -0.25, 0.75]],
        [1.0, -4.0, 0.5],
    ]
    out = []
    for max_norm, norm_type in [(1.0, 2.0), (100.0, 2.0), (2.0, 1.0), (1.5, math.inf), (0.5, 3.0)]:
        params = []
        for g in grads:
            t = torch.zeros(torch.tensor(g).shape, requires_grad=True)
            t.grad = torch.tensor(g)
            params.append(t)
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        out.append({
            "maxNorm": max_norm,
            "normType": "inf" if norm_type == math.inf else norm_type,
            "total": total.item(),
            "grads": [p.grad.tolist() for p in params],
        })
    return {"grads": grads, "cases": out}


def main():
    torch.manual_seed(0)
    warnings.simplefilter("ignore")
    sched, closed = scheduler_cases()
    data = {
        "torch": torch.__version__,
        "problem": PROBLEM,
        "optimizers": optimiser_cases(),
        "schedulers": sched,
        "closedForm": closed,
        "clip": clip_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
