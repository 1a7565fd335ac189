#!/usr/bin/env python3
"""PyTorch (and numpy) peer for bench/core.bench.ts: times the same cases on the CPU and prints one
JSON object on stdout. Run by the TypeScript bench as a child process; usable alone:

    python3 bench/torch_peer.py '{"repeats": 5, "cnn_repeats": 10, "threads": 1}'

Exits 0 with {"error": ...} when torch cannot be imported, so the caller can print a note and go on.
"""
import json
import sys
import time


def measure(fn, warmup=2, repeats=7, inner=None, target_sample_s=0.05):
    for _ in range(warmup):
        fn()
    if inner is None:
        t0 = time.perf_counter()
        fn()
        once = max(time.perf_counter() - t0, 1e-7)
        inner = max(1, min(1_000_000, round(target_sample_s / once)))
    samples, cpu = [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
        cpu.append((time.process_time() - c0) / inner)
    return {"median": median(samples), "min": min(samples), "repeats": repeats, "inner": inner, "cpuMedian": median(cpu)}


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def main():
    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    repeats = int(cfg.get("repeats", 7))
    cnn_repeats = int(cfg.get("cnn_repeats", 10))
    threads = int(cfg.get("threads", 1))
    only = set(cfg.get("only") or [])
    want = lambda case_id: not only or case_id in only

    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except Exception as e:  # torch (or numpy) missing: the caller skips this peer
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    results = []

    def add(peer, case_id, sample, **extra):
        results.append({"peer": peer, "id": case_id, **sample, **({"extra": extra} if extra else {})})

    for n in (256, 512, 1024):
        case_id = f"matmul_{n}"
        if not want(case_id):
            continue
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        add("torch", case_id, measure(lambda: torch.mm(a, b), repeats=repeats))
        an, bn = a.numpy(), b.numpy()
        add("numpy", case_id, measure(lambda: an @ bn, repeats=repeats))

    if want("conv_fwd") or want("conv_fwd_bwd"):
        x = torch.randn(32, 16, 28, 28, generator=g, requires_grad=True)
        w = torch.randn(32, 16, 3, 3, generator=g, requires_grad=True)
        if want("conv_fwd"):
            def fwd():
                with torch.no_grad():
                    F.conv2d(x, w, padding=1)
            add("torch", "conv_fwd", measure(fwd, repeats=repeats))
        if want("conv_fwd_bwd"):
            add("torch", "conv_fwd_bwd", measure(lambda: torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), [x, w]), repeats=repeats))

    if want("cnn_step"):
        def param(shape, fan_in):
            return (torch.randn(*shape, generator=g) * (2 / fan_in) ** 0.5).requires_grad_()

        params = [param((16, 1, 3, 3), 9), param((16,), 9), param((32, 16, 3, 3), 144), param((32,), 144),
                  param((64, 32, 3, 3), 288), param((64,), 288), param((10, 64), 64), param((10,), 64)]
        x = torch.randn(64, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (64,), generator=g)
        lr = float(cfg.get("lr", 0.05))
        losses = []

        def step():
            w1, b1, w2, b2, w3, b3, wl, bl = params
            h = F.relu(F.conv2d(x, w1, b1, padding=1))
            h = F.relu(F.conv2d(h, w2, b2, stride=2, padding=1))
            h = F.relu(F.conv2d(h, w3, b3, stride=2, padding=1))
            loss = F.cross_entropy(F.linear(h.mean((2, 3)), wl, bl), y)
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p.sub_(p.grad * lr)
                    p.grad = None
            losses.append(loss.item())

        add("torch", "cnn_step", measure(step, warmup=2, repeats=cnn_repeats, inner=1), firstLoss=losses[0], lastLoss=losses[-1])

    if want("add_4m") or want("exp_4m"):
        n = 4 * 1024 * 1024
        a = torch.randn(n, generator=g)
        b = torch.randn(n, generator=g)
        an = rng.standard_normal(n, dtype=np.float32)
        bn = rng.standard_normal(n, dtype=np.float32)
        if want("add_4m"):
            add("torch", "add_4m", measure(lambda: a + b, repeats=repeats))
            add("numpy", "add_4m", measure(lambda: an + bn, repeats=repeats))
        if want("exp_4m"):
            add("torch", "exp_4m", measure(lambda: torch.exp(a), repeats=repeats))
            add("numpy", "exp_4m", measure(lambda: np.exp(an), repeats=repeats))

    if want("dispatch_add1"):
        a = torch.randn(1, generator=g)
        b = torch.randn(1, generator=g)
        add("torch", "dispatch_add1", measure(lambda: a + b, repeats=repeats, warmup=1000))

    print(json.dumps({"torch": torch.__version__, "numpy": np.__version__, "threads": threads, "results": results}))


if __name__ == "__main__":
    main()
