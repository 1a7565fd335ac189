"""Golden fixture for @methodzoo/stepnet: the SE bottleneck block, the SAM baseline of
"Understanding Self-attention Mechanism via Dynamical System Perspective" (arXiv 2308.09939),
written here from the research notes (the layout of the group's CIFAR SE-ResNet bottleneck), not
copied from any code.

    python3 tools/golden/stepnet_golden.py   # rewrites packages/stepnet/test/fixtures/stepnet_se_bottleneck.json

    f   = bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))))   conv2 is 3x3 with the stride
    a   = sigmoid(fc2(relu(fc1(mean_{h,w} f))))                SE step size, [N, C]
    s   = x, or bn(conv1x1(x)) where the shape changes         shortcut (`downsample.0/1`)
    y   = relu(s + a[:, :, None, None] * f)
    NSI = ||y - x|| / (||x|| + 1e-8) per sample                 (identity case only)

Two cases: `projection` (8 -> 16 channels, stride 2) and `identity` (16 -> 16, stride 1), both in
training mode (batch statistics). BN affine parameters are random so their gradients are not
degenerate. The fixture (float64) holds the state dict under the TypeScript keys (which are the
PyTorch ones), the input, the step sizes, the residual, the output, an upstream gradient, the
gradients of sum(y * upstream) for the input and every parameter, and the running statistics after
the forward pass.
"""

import json
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages" / "stepnet" / "test" / "fixtures"
torch.set_num_threads(1)


class SE(nn.Module):
    def __init__(self, channels, reduction):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, f):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(f.mean(dim=(2, 3))))))


class SEBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride, reduction):
        super().__init__()
        out = 4 * planes
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.attention = SE(out, reduction)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        f = self.bn3(self.conv3(torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))))
        a = self.attention(f)
        s = x if self.downsample is None else self.downsample(x)
        return torch.relu(s + a[:, :, None, None] * f), a, f


def flat(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def case(name, inplanes, planes, stride, reduction, seed):
    torch.manual_seed(seed)
    m = SEBottleneck(inplanes, planes, stride, reduction).double()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.copy_(1 + 0.3 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.2 * torch.randn_like(mod.bias))
    params = dict(m.named_parameters())
    buffers = {k: v.clone() for k, v in m.named_buffers() if not k.endswith("num_batches_tracked")}
    m.train()
    x = torch.randn(3, inplanes, 5, 5, dtype=torch.float64, requires_grad=True)
    y, a, f = m(x)
    up = torch.randn_like(y)
    names = list(params)
    grads = torch.autograd.grad((y * up).sum(), [x] + [params[k] for k in names])
    result = {
        "name": name, "inplanes": inplanes, "planes": planes, "stride": stride, "reduction": reduction,
        "state": {**{k: flat(v) for k, v in params.items()}, **{k: flat(v) for k, v in buffers.items()}},
        "input": flat(x), "attention": flat(a), "residual": flat(f), "output": flat(y), "upstream": flat(up),
        "grad": {"input": flat(grads[0]), **{k: flat(t) for k, t in zip(names, grads[1:])}},
        "runningAfter": {k: flat(v) for k, v in m.named_buffers() if not k.endswith("num_batches_tracked")},
    }
    if m.downsample is None:
        d = (y - x).reshape(x.shape[0], -1).norm(dim=1)
        result["nsi"] = flat(d / (x.reshape(x.shape[0], -1).norm(dim=1) + 1e-8))
    return result


def main():
    fixture = {"cases": [case("projection", 8, 4, 2, 4, 11), case("identity", 16, 4, 1, 4, 12)]}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "stepnet_se_bottleneck.json"
    path.write_text(json.dumps(fixture) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
