"""Golden fixtures for @methodzoo/asr: a PyTorch twin of ASR (Huang, Zhong et al., "Stripe
Observation Guided Inference Cost-Free Attention Mechanism", ECCV 2024, arXiv 2304.06345), written
from the method's equations (research notes /work/shared/research/lsas-asr.md part 2):

    train/eval:  y = BN(x) * a,  a = SE(psi) = sigmoid(W2 relu(W1 psi + b1) + b2),  psi [1, C, 1, 1]
    deploy:      BN with weight gamma * a and bias beta * a, running statistics unchanged

    python3 tools/golden/asr_golden.py   # rewrites packages/asr/test/fixtures/asr-golden.json

Everything in float64. Two cases:

- `layer`: one ASRNorm (C = 32, SE reduction 16, hidden 2) with random BN state, psi and SE weights;
  an input x [3, 32, 4, 4] and upstream g. Records the eval output, the train output (batch
  statistics), the running statistics after that train forward, the gradients of sum(train_out * g)
  for x and every parameter, and the folded weight and bias.
- `resnet`: a CIFAR ResNet-8 (basic blocks, widths 8/16/32, 1 input channel, 10 classes) with ASR
  (SE reduction 4) on bn2 of every block and randomised state. Records the state dict (the
  TypeScript member names), eval and train logits for x [2, 1, 12, 12], the deployed state of
  the bn2 layers (the plain backbone's keys; the rest is unchanged) and the eval logits of a plain ResNet-8 loaded with it.
"""

import json
import pathlib

import torch
import torch.nn.functional as F
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages" / "asr" / "test" / "fixtures"
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


class SEGate(nn.Module):
    """x [N, C, H, W] -> sigmoid(fc2(relu(fc1(GAP x)))) [N, C, 1, 1]; hidden round(C / r)."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, round(channels / reduction))
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))
        return s[:, :, None, None]


class ASRNorm(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.psi = nn.Parameter(torch.full((1, channels, 1, 1), 0.1))
        self.bn = nn.BatchNorm2d(channels)
        self.attention = SEGate(channels, reduction)

    def forward(self, x):
        return self.bn(x) * self.attention(self.psi)

    def to_batchnorm(self):
        a = self.attention(self.psi).reshape(-1)
        out = nn.BatchNorm2d(self.bn.num_features, eps=self.bn.eps, momentum=self.bn.momentum)
        with torch.no_grad():
            out.weight.copy_(self.bn.weight * a)
            out.bias.copy_(self.bn.bias * a)
            out.running_mean.copy_(self.bn.running_mean)
            out.running_var.copy_(self.bn.running_var)
            out.num_batches_tracked.copy_(self.bn.num_batches_tracked)
        return out.eval()


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride, asr):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = ASRNorm(planes, 4) if asr else nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


class ResNet8(nn.Module):
    def __init__(self, asr):
        super().__init__()
        widths = [8, 16, 32]
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        inplanes = 8
        for s, w in enumerate(widths):
            setattr(self, f"layer{s + 1}", nn.Sequential(BasicBlock(inplanes, w, 1 if s == 0 else 2, asr)))
            inplanes = w
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(h.mean((2, 3)))


def randomise(model, gen):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(3)
            elif name.endswith("running_var") or name.endswith("bn.weight") or name.endswith("bn2.weight"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif name.endswith("psi"):
                t.copy_(0.1 + 0.3 * torch.randn(t.shape, generator=gen))
            else:
                t.copy_(0.3 * torch.randn(t.shape, generator=gen))
            # five decimals, so the JSON holds the inputs exactly
            t.copy_(torch.round(t * 1e5) / 1e5)


def flat(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(f"{v:.13g}") for v in t.reshape(-1).tolist()]}


def rounded_randn(*shape, gen):
    return torch.round(torch.randn(*shape, generator=gen) * 1e5) / 1e5


def state(model):
    return {k: flat(v) for k, v in model.state_dict().items()}


def layer_case(gen):
    m = ASRNorm(32, 16)
    randomise(m, gen)
    x = rounded_randn(3, 32, 4, 4, gen=gen).requires_grad_(True)
    g = rounded_randn(3, 32, 4, 4, gen=gen)
    before = state(m)
    m.eval()
    eval_out = m(x).detach()
    m.train()
    y = m(x)
    (y * g).sum().backward()
    grads = {"x": flat(x.grad)}
    for name, p in m.named_parameters():
        grads[name] = flat(p.grad)
    with torch.no_grad():
        folded = m.to_batchnorm()
    return {
        "state": before,
        "input": flat(x),
        "upstream": flat(g),
        "evalOutput": flat(eval_out),
        "trainOutput": flat(y),
        "runningAfterTrain": {"running_mean": flat(m.bn.running_mean), "running_var": flat(m.bn.running_var)},
        "grads": grads,
        "foldedWeight": flat(folded.weight),
        "foldedBias": flat(folded.bias),
    }


def resnet_case(gen):
    net = ResNet8(asr=True)
    randomise(net, gen)
    x = rounded_randn(2, 1, 12, 12, gen=gen)
    st = state(net)
    net.eval()
    eval_logits = net(x).detach()
    with torch.no_grad():
        for block in [net.layer1[0], net.layer2[0], net.layer3[0]]:
            block.bn2 = block.bn2.to_batchnorm()
    deployed = {k: v for k, v in state(net).items() if ".bn2." in k}
    plain = ResNet8(asr=False)
    plain.load_state_dict(net.state_dict())
    plain.eval()
    plain_logits = plain(x).detach()
    net2 = ResNet8(asr=True)
    net2.load_state_dict({k: torch.tensor(v["data"]).reshape(v["shape"]) for k, v in st.items()})
    net2.train()
    train_logits = net2(x).detach()
    return {
        "state": st,
        "input": flat(x),
        "evalLogits": flat(eval_logits),
        "trainLogits": flat(train_logits),
        "deployedState": deployed,
        "plainLogits": flat(plain_logits),
        "numParamsPlain": sum(p.numel() for p in plain.parameters()),
        "numParamsAsr": sum(p.numel() for p in net2.parameters()),
    }


def main():
    gen = torch.Generator().manual_seed(20240929)
    out = {"torch": torch.__version__, "layer": layer_case(gen), "resnet": resnet_case(gen)}
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(out, separators=(",", ":"))
    (OUT / "asr-golden.json").write_text(text + "\n")
    print(f"wrote {OUT / 'asr-golden.json'} ({len(text) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
