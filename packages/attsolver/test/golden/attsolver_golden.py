"""PyTorch golden values for one hybrid step u + RK4_dt(u) + C(u) on the elastic pendulum (float64).

Weights are deterministic: Linear `k` (in creation order) gets W[i, j] = 0.3 sin(k + 1 + 0.7 (i * in + j)),
b[i] = 0.1 cos(k + 1 + i). The TypeScript test rebuilds the same weights. Run: python3 attsolver_golden.py
"""
import json, math
import torch

torch.set_default_dtype(torch.float64)

def fill(lin, k):
    o, i_ = lin.weight.shape
    with torch.no_grad():
        for i in range(o):
            for j in range(i_):
                lin.weight[i, j] = 0.3 * math.sin(k + 1 + 0.7 * (i * i_ + j))
            lin.bias[i] = 0.1 * math.cos(k + 1 + i)

def rational(x):
    a = [0.0218, 0.5, 1.5957, 1.1915]; b = [1.0, 0.0, 2.383]
    return (a[3] * x**3 + a[2] * x**2 + a[1] * x + a[0]) / (b[2] * x**2 + b[1] * x + b[0])

def F(u):
    l0, g, m, k = 10.0, 9.81, 1.0, 40.0
    th, r, w, v = u[:, 0:1], u[:, 1:2], u[:, 2:3], u[:, 3:4]
    return torch.cat([w, v, (-g * torch.sin(th) - 2 * w * v) / r, r * w * w - (k / m) * (r - l0) + g * torch.cos(th)], 1)

def rk4(u, dt):
    k1 = F(u); k2 = F(u + dt / 2 * k1); k3 = F(u + dt / 2 * k2); k4 = F(u + dt * k3)
    return dt * (k1 / 6 + k2 / 3 + k3 / 3 + k4 / 6)

d, h, ha, dt = 4, 8, 16, 0.1
n1, n2 = torch.nn.Linear(d, h), torch.nn.Linear(h, d)
a1, a2 = torch.nn.Linear(d, ha), torch.nn.Linear(ha, d)
for k, lin in enumerate([n1, n2, a1, a2]):
    fill(lin, k)
u = torch.tensor([[0.3, 10.2, -0.1, 0.5], [-0.6, 9.4, 0.4, -0.8]])
S = rk4(u, dt)
N = n2(rational(n1(u)))
A = torch.sigmoid(a2(torch.relu(a1(N))))
out = {
    "u": u.tolist(),
    "rk4": (u + S).tolist(),
    "neurvec": (u + S + N).tolist(),
    "attAdd": (u + S + N + A).tolist(),
    "attMul": (u + S + N * A).tolist(),
    "attResidualMul": (u + S + N * (1 + A)).tolist(),
}
print(json.dumps(out, indent=1))
