"""Parameter counts and state-dict keys of torchvision-layout ImageNet ResNets, plain and with SE /
LSAS-SE attention as the official LSAS code places it (imagenet/senet.py: SE, r = 16, in every block;
imagenet/lsas_senet.py: SE + per-channel w, b, order 1, in layer3 and layer4 only). The networks are
written here in torch (no torchvision needed) from torchvision's layout; the counts are computed, not
typed in.

    python3 tools/golden/imagenet_resnet_counts.py
        # writes packages/models/test/fixtures/imagenet_resnet.json
        #    and packages/lsas/test/fixtures/resnet50_counts.json
"""
import json
import os

import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


class SE(nn.Module):
    def __init__(self, c, r=16, order=0):
        super().__init__()
        self.fc1 = nn.Linear(c, max(1, c // r))
        self.fc2 = nn.Linear(max(1, c // r), c)
        # LSAS: v_k = w_k * v_{k-1} + b_k, gate sigmoid(v) * prod_k sigmoid(v_k)
        self.w = nn.ParameterList([nn.Parameter(torch.full((c,), 0.5)) for _ in range(order)])
        self.b = nn.ParameterList([nn.Parameter(torch.full((c,), -0.5)) for _ in range(order)])

    def forward(self, x):
        v = self.fc2(torch.relu(self.fc1(x.mean((2, 3)))))
        g = torch.sigmoid(v)
        for w, b in zip(self.w, self.b):
            v = w * v + b
            g = g * torch.sigmoid(v)
        return x * g[:, :, None, None]


class Basic(nn.Module):
    expansion = 1

    def __init__(self, inp, planes, stride, att):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attention = att(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride, att):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.attention = att(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))


class ResNet(nn.Module):
    def __init__(self, block, layers, att_for_stage, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inp = 64
        for s, (planes, n) in enumerate(zip([64, 128, 256, 512], layers)):
            blocks = []
            for j in range(n):
                blocks.append(block(inp, planes, 2 if j == 0 and s > 0 else 1, att_for_stage(s + 1)))
                inp = planes * block.expansion
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inp, num_classes)


def none(_stage):
    return lambda c: None


def se(stages, order=0):
    return lambda stage: (lambda c: SE(c, 16, order)) if stage in stages else (lambda c: None)


def count(m):
    return sum(p.numel() for p in m.parameters())


B50 = (Bottleneck, [3, 4, 6, 3])
plain = {
    "resnet18": ResNet(Basic, [2, 2, 2, 2], none),
    "resnet34": ResNet(Basic, [3, 4, 6, 3], none),
    "resnet50": ResNet(*B50, none),
    "resnet101": ResNet(Bottleneck, [3, 4, 23, 3], none),
}
models_fixture = {
    "counts": {k: count(v) for k, v in plain.items()},
    "resnet50_keys": list(plain["resnet50"].state_dict().keys()),
}
lsas_fixture = {
    "resnet50": count(plain["resnet50"]),
    "se_resnet50": count(ResNet(*B50, se({1, 2, 3, 4}))),
    "lsas_se_resnet50_official": count(ResNet(*B50, se({3, 4}, order=1))),
    "lsas_se_resnet50_all_stages": count(ResNet(*B50, se({1, 2, 3, 4}, order=1))),
    "lsas_se_resnet50_official_order2": count(ResNet(*B50, se({3, 4}, order=2))),
}
for path, obj in [
    ("packages/models/test/fixtures/imagenet_resnet.json", models_fixture),
    ("packages/lsas/test/fixtures/resnet50_counts.json", lsas_fixture),
]:
    with open(os.path.join(ROOT, path), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    print(path, {k: v for k, v in obj.items() if k != "resnet50_keys"})
