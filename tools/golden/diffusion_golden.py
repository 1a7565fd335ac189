"""Golden fixture for @methodzoo/diffusion: noise schedules, forward noising, the epsilon loss and one
DDPM / DDIM reverse step, computed in float64 with torch from the papers' equations (not from any
diffusion library):

    python3 tools/golden/diffusion_golden.py   # rewrites packages/diffusion/test/fixtures/diffusion-golden.json

Conventions are those @methodzoo/diffusion documents: timesteps 0-indexed (index t holds beta_{t+1}
of the paper), abar_{-1} = 1.

- Schedules (Ho et al. 2020 sec. 4; Nichol & Dhariwal 2021 eq. 17), T = 1000:
    linear  beta = linspace(1e-4, 0.02, T)
    cosine  f(t) = cos((t/T + s)/(1 + s) * pi/2)^2, s = 0.008, beta_t = min(1 - f(t+1)/f(t), 0.999)
    alpha_t = 1 - beta_t, abar_t = prod_{i<=t} alpha_i,
    betaTilde_t = (1 - abar_{t-1}) / (1 - abar_t) * beta_t                                 (eq. 7)
  recorded at a few timesteps.
- q_sample (eq. 4): x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, one t per sample.
- L_simple (eq. 14): mean((eps_theta(x_t, t) - eps)^2) with the fixed toy predictor
  eps_theta(x, t) = 0.5 x + 1e-3 t (elementwise), so the loss depends on x_t and t.
- DDPM step (Algorithm 2, eq. 11), the linear schedule:
    unclipped  mu = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t)
    clipped    x0 = clip((x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), -1, 1),
               mu = beta_t sqrt(abar_{t-1}) / (1 - abar_t) x0 + (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t) x_t
    x_{t-1} = mu + sigma_t z, sigma_t^2 = betaTilde_t ('fixedSmall') or beta_t ('fixedLarge'); no noise at t = 0.
- DDIM step (Song et al. 2021 eq. 12 and 16), t -> s (s = -1: abar_s = 1):
    x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)   [clipped: x0 clipped, eps recomputed from it]
    sigma = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s)
    x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s - sigma^2) eps + sigma z
  with eta = 0 and eta = 0.5 and 1 (fixed z).

Inputs are drawn from a seeded torch generator and rounded to 5 decimals (so the float32 test sees
them almost exactly); outputs keep full float64 precision.
"""

import json
import math
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages" / "diffusion" / "test" / "fixtures"
torch.set_num_threads(1)
D = torch.float64
T = 1000
AT = [0, 1, 10, 100, 500, 900, 999]


def linear_betas(n):
    return torch.linspace(1e-4, 0.02, n, dtype=D)


def cosine_betas(n, s=0.008, max_beta=0.999):
    t = torch.arange(n + 1, dtype=D)
    f = torch.cos((t / n + s) / (1 + s) * (math.pi / 2)) ** 2
    return torch.clamp(1 - f[1:] / f[:-1], max=max_beta)


def derived(betas):
    alphas = 1 - betas
    ac = torch.cumprod(alphas, 0)
    prev = torch.cat([torch.ones(1, dtype=D), ac[:-1]])
    return {"betas": betas, "alphas": alphas, "alphasCumprod": ac, "alphasCumprodPrev": prev,
            "posteriorVariance": betas * (1 - prev) / (1 - ac)}


def rounded(gen, *shape, scale=1.0):
    return torch.round(torch.randn(*shape, generator=gen, dtype=D) * scale * 1e5) / 1e5


def flat(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def coef(values, t, like):
    return values[torch.tensor(t)].reshape(-1, *([1] * (like.dim() - 1)))


def ddpm(s, xt, t, eps, z, clip, variance):
    a, beta, ac, prev = s["alphas"][t], s["betas"][t], s["alphasCumprod"][t], s["alphasCumprodPrev"][t]
    if clip:
        x0 = torch.clamp((xt - torch.sqrt(1 - ac) * eps) / torch.sqrt(ac), -1, 1)
        mean = beta * torch.sqrt(prev) / (1 - ac) * x0 + (1 - prev) * torch.sqrt(a) / (1 - ac) * xt
    else:
        mean = (xt - beta / torch.sqrt(1 - ac) * eps) / torch.sqrt(a)
    var = s["posteriorVariance"][t] if variance == "fixedSmall" else beta
    out = mean if t == 0 else mean + torch.sqrt(var) * z
    return mean, var, out


def ddim(s, xt, t, s_next, eps, z, eta, clip):
    ac = s["alphasCumprod"][t]
    acs = torch.tensor(1.0, dtype=D) if s_next < 0 else s["alphasCumprod"][s_next]
    x0 = (xt - torch.sqrt(1 - ac) * eps) / torch.sqrt(ac)
    e = eps
    if clip:
        x0 = torch.clamp(x0, -1, 1)
        e = (xt - torch.sqrt(ac) * x0) / torch.sqrt(1 - ac)
    sigma = eta * torch.sqrt((1 - acs) / (1 - ac)) * torch.sqrt(1 - ac / acs)
    out = torch.sqrt(acs) * x0 + torch.sqrt(torch.clamp(1 - acs - sigma ** 2, min=0)) * e + sigma * z
    return x0, sigma, out


def main():
    gen = torch.Generator().manual_seed(20231013)
    lin, cos = derived(linear_betas(T)), derived(cosine_betas(T))
    schedules = {name: {"t": AT, **{k: v[AT].tolist() for k, v in s.items()}} for name, s in (("linear", lin), ("cosine", cos))}

    # forward noising and the loss: one timestep per sample, both schedules
    shape = (4, 2, 3, 3)
    x0 = torch.clamp(rounded(gen, *shape, scale=0.6), -1, 1)
    noise = rounded(gen, *shape)
    t_batch = [3, 250, 640, 999]
    forward = {"x0": flat(x0), "noise": flat(noise), "t": t_batch}
    for name, s in (("linear", lin), ("cosine", cos)):
        xt = coef(torch.sqrt(s["alphasCumprod"]), t_batch, x0) * x0 + coef(torch.sqrt(1 - s["alphasCumprod"]), t_batch, x0) * noise
        pred = 0.5 * xt + 1e-3 * torch.tensor(t_batch, dtype=D).reshape(-1, 1, 1, 1)
        forward[name] = {"xt": flat(xt), "loss": torch.mean((pred - noise) ** 2).item()}

    # reverse steps from a fixed x_t and eps prediction, linear schedule
    xt = rounded(gen, 2, 1, 4, 4)
    eps = rounded(gen, 2, 1, 4, 4, scale=0.8)
    z = rounded(gen, 2, 1, 4, 4)
    ddpm_cases = []
    for t in (0, 1, 40, 600, 999):
        for clip in (False, True):
            for variance in ("fixedSmall", "fixedLarge"):
                mean, var, out = ddpm(lin, xt, t, eps, z, clip, variance)
                ddpm_cases.append({"t": t, "clipDenoised": clip, "variance": variance,
                                   "mean": flat(mean), "varianceValue": var.item(), "out": flat(out)})
    ddim_cases = []
    for t, s_next in ((999, 979), (600, 580), (40, 0), (20, -1), (500, 499)):
        for eta in (0.0, 0.5, 1.0):
            for clip in (False, True):
                x0, sigma, out = ddim(lin, xt, t, s_next, eps, z, eta, clip)
                ddim_cases.append({"t": t, "s": s_next, "eta": eta, "clipDenoised": clip,
                                   "x0": flat(x0), "sigma": sigma.item(), "out": flat(out)})
    # sanity: DDIM with eta = 1 and s = t - 1 is the DDPM step with betaTilde (Song et al. sec. 4.1)
    _, _, a = ddim(lin, xt, 500, 499, eps, z, 1.0, False)
    _, _, b = ddpm(lin, xt, 500, eps, z, False, "fixedSmall")
    assert torch.allclose(a, b, atol=1e-12), (a - b).abs().max()

    fixture = {"numTimesteps": T, "schedules": schedules, "forward": forward,
               "reverse": {"xt": flat(xt), "eps": flat(eps), "noise": flat(z), "ddpm": ddpm_cases, "ddim": ddim_cases}}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "diffusion-golden.json"
    path.write_text(json.dumps(fixture) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
