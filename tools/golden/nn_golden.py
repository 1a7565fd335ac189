"""Golden fixtures for @methodzoo/core nn: single layers and a small CIFAR-style ResNet, computed with
PyTorch and written with `safetensors.torch.save_file` to packages/core/test/fixtures/nn/.

    python3 tools/golden/nn_golden.py   # rewrites packages/core/test/fixtures/nn/

Layers (checked by packages/core/test/nn.golden.test.ts): each case builds a torch module from a
JSON spec (type, PyTorch constructor args and kwargs) with a fixed seed, runs it on a fixed input and
backpropagates loss = sum_k sum(out_k * upstream_k). `<case>.safetensors` holds

    state.<key>         the state_dict before the forward (key order is in the manifest)
    input.<name>        forward inputs (a name may be passed several times, as q = k = v)
    output.<name>       forward outputs
    upstream.<name>     the cotangent of each output
    grad.input.<name>   d loss / d input (data inputs; not masks or indices)
    grad.param.<name>   d loss / d parameter, by named_parameters() name
    after.<key>         buffers after the forward (BatchNorm running statistics in train mode)

and layers.json lists the cases with their specs and forward options.

ResNet (checked by packages/core/test/resnet.golden.test.ts): resnet_state.safetensors is exactly the
state_dict after a few SGD steps in train mode (so BatchNorm running statistics are non-trivial);
resnet_io.safetensors holds the eval-mode logits for a fixed batch and a train-mode forward +
cross-entropy backward (logits, loss, a few parameter gradients, buffers after the forward);
resnet.json has the configuration and the state_dict keys in order with their shapes.
"""

import json
import pathlib
import warnings

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages" / "core" / "test" / "fixtures" / "nn"

# PyTorch notes that padding='same' with an even kernel pads a copy of the input: that case is wanted.
warnings.filterwarnings("ignore", message="Using padding='same'")
# One thread, so float reductions run in one order and the fixtures regenerate bit-identically.
torch.set_num_threads(1)


def tuplify(v):
    return tuple(tuplify(x) for x in v) if isinstance(v, list) else v


def build(spec):
    """A torch module from {type, args, kwargs} (Sequential: {type, children})."""
    if spec["type"] == "Sequential":
        return nn.Sequential(*[build(c) for c in spec["children"]])
    cls = getattr(nn, spec["type"])
    return cls(*[tuplify(a) for a in spec.get("args", [])], **{k: tuplify(v) for k, v in spec.get("kwargs", {}).items()})


def randomise_state(module, gen):
    """Norm layers start at weight 1, bias 0, mean 0, var 1; give them values that catch mix-ups."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.5)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.track_running_stats:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(3)


def lin(i, o, **kw):
    return {"type": "Linear", "args": [i, o], "kwargs": kw}


# Each case: name, module spec, training mode, inputs {name: shape or int64 values}, the call's
# positional input names, forward kwargs (MultiheadAttention), and output names.
CASES = [
    {"name": "linear", "spec": lin(5, 4), "inputs": {"x": [3, 2, 5]}},
    {"name": "linear_nobias", "spec": lin(6, 3, bias=False), "inputs": {"x": [4, 6]}},
    {
        "name": "conv1d_strided_dilated_groups",
        "spec": {"type": "Conv1d", "args": [4, 6, 3], "kwargs": {"stride": 2, "padding": 2, "dilation": 2, "groups": 2}},
        "inputs": {"x": [2, 4, 11]},
    },
    {
        "name": "conv1d_same_even_kernel",
        "spec": {"type": "Conv1d", "args": [3, 2, 4], "kwargs": {"padding": "same"}},
        "inputs": {"x": [2, 3, 9]},
    },
    {"name": "conv2d", "spec": {"type": "Conv2d", "args": [3, 4, 3], "kwargs": {"padding": 1}}, "inputs": {"x": [2, 3, 6, 6]}},
    {
        "name": "conv2d_stride_padding_dilation_groups",
        "spec": {"type": "Conv2d", "args": [4, 6, [3, 2]], "kwargs": {"stride": [2, 1], "padding": [1, 2], "dilation": [1, 2], "groups": 2}},
        "inputs": {"x": [2, 4, 9, 8]},
    },
    {
        "name": "conv2d_same_even_kernel_dilated",
        "spec": {"type": "Conv2d", "args": [2, 3, [4, 3]], "kwargs": {"padding": "same", "dilation": [1, 2]}},
        "inputs": {"x": [1, 2, 7, 6]},
    },
    {
        "name": "conv2d_depthwise_nobias",
        "spec": {"type": "Conv2d", "args": [4, 8, 3], "kwargs": {"stride": 2, "groups": 4, "bias": False}},
        "inputs": {"x": [2, 4, 7, 8]},
    },
    {
        "name": "conv_transpose2d",
        "spec": {"type": "ConvTranspose2d", "args": [4, 6, 3], "kwargs": {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}},
        "inputs": {"x": [2, 4, 5, 4]},
    },
    {
        "name": "conv_transpose2d_dilated_nobias",
        "spec": {"type": "ConvTranspose2d", "args": [3, 2, [2, 3]], "kwargs": {"stride": [1, 2], "padding": [0, 1], "dilation": [2, 1], "bias": False}},
        "inputs": {"x": [2, 3, 4, 5]},
    },
    {"name": "batchnorm2d_train", "spec": {"type": "BatchNorm2d", "args": [3]}, "inputs": {"x": [4, 3, 5, 5]}},
    {"name": "batchnorm2d_train_cumulative", "spec": {"type": "BatchNorm2d", "args": [3], "kwargs": {"momentum": None}}, "inputs": {"x": [2, 3, 4, 3]}},
    {"name": "batchnorm2d_eval", "spec": {"type": "BatchNorm2d", "args": [3]}, "training": False, "inputs": {"x": [4, 3, 5, 5]}},
    {"name": "batchnorm1d_train", "spec": {"type": "BatchNorm1d", "args": [4], "kwargs": {"eps": 1e-3, "momentum": 0.3}}, "inputs": {"x": [5, 4, 3]}},
    {"name": "groupnorm", "spec": {"type": "GroupNorm", "args": [3, 6]}, "inputs": {"x": [2, 6, 3, 4]}},
    {"name": "layernorm", "spec": {"type": "LayerNorm", "args": [[4, 5]]}, "inputs": {"x": [2, 3, 4, 5]}},
    {"name": "layernorm_nobias", "spec": {"type": "LayerNorm", "args": [6], "kwargs": {"eps": 1e-3, "bias": False}}, "inputs": {"x": [3, 6]}},
    {
        "name": "embedding_padding_idx",
        "spec": {"type": "Embedding", "args": [10, 4], "kwargs": {"padding_idx": 2}},
        "inputs": {"idx": {"int64": [[1, 2, 3, 2, 9], [0, 2, 1, 1, 5]]}},
    },
    {
        # Self-attention (q = k = v), sequence-first, averaged weights, bool key padding mask.
        "name": "mha_self_seq_first",
        "spec": {"type": "MultiheadAttention", "args": [8, 2]},
        "inputs": {"x": [5, 3, 8], "key_padding_mask": {"bool": [[False] * 5, [False, False, False, True, True], [True, False, False, False, False]]}},
        "call": ["x", "x", "x"],
        "forward": {"key_padding_mask": "key_padding_mask", "need_weights": True, "average_attn_weights": True},
        "outputs": ["out", "weights"],
    },
    {
        # Cross-attention, batch-first, packed in_proj_weight (kdim = vdim = E), key = value.
        "name": "mha_cross_batch_first",
        "spec": {"type": "MultiheadAttention", "args": [8, 4], "kwargs": {"batch_first": True}},
        "inputs": {"q": [2, 3, 8], "kv": [2, 6, 8], "key_padding_mask": {"bool": [[False, False, True, False, False, True], [False] * 6]}},
        "call": ["q", "kv", "kv"],
        "forward": {"key_padding_mask": "key_padding_mask", "need_weights": True, "average_attn_weights": True},
        "outputs": ["out", "weights"],
    },
    {
        # Separate q/k/v projections (kdim, vdim != E), per-head weights, sequence-first, a bool
        # attn_mask (True = blocked) with the bool key padding mask.
        "name": "mha_kdim_vdim_per_head",
        "spec": {"type": "MultiheadAttention", "args": [6, 3], "kwargs": {"kdim": 4, "vdim": 5}},
        "inputs": {
            "q": [3, 2, 6],
            "k": [4, 2, 4],
            "v": [4, 2, 5],
            "attn_mask": {"bool": [[False, False, True, False], [False, False, False, False], [True, False, False, False]]},
            "key_padding_mask": {"bool": [[False, True, False, False], [False, False, False, True]]},
        },
        "call": ["q", "k", "v"],
        "forward": {"attn_mask": "attn_mask", "key_padding_mask": "key_padding_mask", "need_weights": True, "average_attn_weights": False},
        "outputs": ["out", "weights"],
    },
    {
        # Learned key/value biases, a zero attention slot, float (additive) attn_mask and key padding
        # mask.
        "name": "mha_bias_kv_zero_attn_masks",
        "spec": {"type": "MultiheadAttention", "args": [6, 2], "kwargs": {"add_bias_kv": True, "add_zero_attn": True}},
        "inputs": {
            "q": [3, 2, 6],
            "kv": [4, 2, 6],
            "attn_mask": {"float": [[0.0, -1.0, 0.5, 0.0], [0.0, 0.0, -3.0, -1e9], [0.25, 0.0, 0.0, 0.0]]},
            "key_padding_mask": {"float": [[0.0, -1.5, 0.0, 0.5], [0.0, 0.0, -2.0, 0.0]]},
        },
        "call": ["q", "kv", "kv"],
        "forward": {"attn_mask": "attn_mask", "key_padding_mask": "key_padding_mask", "need_weights": True, "average_attn_weights": True},
        "outputs": ["out", "weights"],
    },
    {
        # Unbatched [L, E] input with a [S] key padding mask.
        "name": "mha_unbatched",
        "spec": {"type": "MultiheadAttention", "args": [4, 2], "kwargs": {"batch_first": True}},
        "inputs": {"x": [5, 4], "key_padding_mask": {"bool": [False, False, True, False, False]}},
        "call": ["x", "x", "x"],
        "forward": {"key_padding_mask": "key_padding_mask", "need_weights": True, "average_attn_weights": False},
        "outputs": ["out", "weights"],
    },
    {
        # No running statistics: batch statistics in eval mode too; no affine parameters.
        "name": "batchnorm2d_no_affine_no_stats_eval",
        "spec": {"type": "BatchNorm2d", "args": [3], "kwargs": {"affine": False, "track_running_stats": False}},
        "training": False,
        "inputs": {"x": [3, 3, 2, 4]},
    },
    {
        "name": "sequential",
        "spec": {
            "type": "Sequential",
            "children": [
                {"type": "Conv2d", "args": [3, 4, 3], "kwargs": {"padding": 1}},
                {"type": "BatchNorm2d", "args": [4]},
                {"type": "LeakyReLU", "args": [0.1]},
                {"type": "MaxPool2d", "args": [2]},
                {"type": "Flatten"},
                {"type": "Dropout", "args": [0.0]},
                lin(36, 8),
                {"type": "GELU"},
                lin(8, 3),
                {"type": "Tanh"},
            ],
        },
        "inputs": {"x": [4, 3, 6, 6]},
    },
    {
        "name": "sequential_pool",
        "spec": {
            "type": "Sequential",
            "children": [
                {"type": "Conv2d", "args": [2, 3, 1]},
                {"type": "AvgPool2d", "args": [3], "kwargs": {"stride": 2, "padding": 1, "count_include_pad": False}},
                {"type": "Softplus"},
                {"type": "AdaptiveAvgPool2d", "args": [[2, 3]]},
                {"type": "SiLU"},
                {"type": "Flatten"},
                lin(18, 4),
                {"type": "Sigmoid"},
            ],
        },
        "inputs": {"x": [2, 2, 7, 9]},
    },
]


def make_input(spec, gen):
    if isinstance(spec, list):
        return torch.randn(spec, generator=gen).requires_grad_()
    if "int64" in spec:
        return torch.tensor(spec["int64"], dtype=torch.int64)
    if "float" in spec:
        return torch.tensor(spec["float"], dtype=torch.float32)
    return torch.tensor(spec["bool"], dtype=torch.bool)


def as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def run_case(case, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(1000 + seed)
    module = build(case["spec"])
    randomise_state(module, gen)
    module.train(case.get("training", True))
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    inputs = {name: make_input(s, gen) for name, s in case["inputs"].items()}
    call = case.get("call", list(case["inputs"].keys())[:1])
    fwd = {k: (inputs[v] if k.endswith("mask") else v) for k, v in case.get("forward", {}).items()}
    outs = as_tuple(module(*[inputs[n] for n in call], **fwd))
    out_names = case.get("outputs", ["out"])
    assert len(outs) == len(out_names), case["name"]
    upstream = {n: torch.randn(o.shape, generator=gen) for n, o in zip(out_names, outs)}
    loss = sum((o * upstream[n]).sum() for n, o in zip(out_names, outs))
    loss.backward()

    t = {}
    t.update({f"state.{k}": v for k, v in state.items()})
    t.update({f"input.{n}": v.detach() for n, v in inputs.items()})
    t.update({f"output.{n}": o.detach() for n, o in zip(out_names, outs)})
    t.update({f"upstream.{n}": u for n, u in upstream.items()})
    t.update({f"grad.input.{n}": v.grad for n, v in inputs.items() if v.requires_grad})
    params = list(module.named_parameters())
    t.update({f"grad.param.{n}": p.grad for n, p in params})
    buffers = [k for k, _ in module.named_buffers()]
    if module.training and buffers:
        t.update({f"after.{k}": v for k, v in module.state_dict().items() if k in buffers})
    save_file({k: v.detach().contiguous().clone() for k, v in t.items()}, OUT / f"{case['name']}.safetensors")
    return {
        "name": case["name"],
        "file": f"{case['name']}.safetensors",
        "spec": case["spec"],
        "training": module.training,
        "call": call,
        "forward": case.get("forward", {}),
        "outputs": out_names,
        "stateKeys": list(state.keys()),
        "params": [n for n, _ in params],
        "gradInputs": sorted({n for n in call if inputs[n].requires_grad}),
        "buffersAfter": buffers if module.training else [],
    }


# ---- ResNet ----------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: two 3x3 convs with BN, identity or 1x1 conv + BN shortcut."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """CIFAR-style: 3x3 stem, three stages of BasicBlocks (stride 1, 2, 2), global pool, fc."""

    def __init__(self, widths=(16, 32, 64), blocks=(1, 1, 1), num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        inplanes = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layer = []
            for j in range(n):
                layer.append(BasicBlock(inplanes, w, (1 if i == 0 else 2) if j == 0 else 1))
                inplanes = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


RESNET = {"widths": [16, 32, 64], "blocks": [1, 1, 1], "numClasses": 10, "imageSize": 16, "batch": 4, "sgdSteps": 3}
RESNET_GRADS = [
    "conv1.weight",
    "bn1.weight",
    "layer1.0.conv2.weight",
    "layer2.0.bn1.bias",
    "layer2.0.downsample.1.weight",
    "layer3.0.conv1.weight",
    "layer3.0.downsample.0.weight",
    "fc.weight",
    "fc.bias",
]


def resnet():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(7)
    model = ResNet(RESNET["widths"], RESNET["blocks"], RESNET["numClasses"])
    s, b, c = RESNET["imageSize"], RESNET["batch"], RESNET["numClasses"]
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    model.train()
    for _ in range(RESNET["sgdSteps"]):
        x = torch.randn(2 * b, 3, s, s, generator=gen) * 1.5 + 0.2
        y = torch.randint(0, c, (2 * b,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save_file({k: v.contiguous() for k, v in state.items()}, OUT / "resnet_state.safetensors")

    io = {}
    model.eval()
    x_eval = torch.randn(b, 3, s, s, generator=gen)
    with torch.no_grad():
        io["eval.input"] = x_eval
        io["eval.logits"] = model(x_eval)
    model.train()
    opt.zero_grad()
    x_train = torch.randn(b, 3, s, s, generator=gen)
    y_train = torch.randint(0, c, (b,), generator=gen)
    logits = model(x_train)
    loss = F.cross_entropy(logits, y_train)
    loss.backward()
    params = dict(model.named_parameters())
    io.update({"train.input": x_train, "train.target": y_train, "train.logits": logits.detach(), "train.loss": loss.detach()})
    io.update({f"grad.{n}": params[n].grad for n in RESNET_GRADS})
    io.update({f"after.{n}": t for n, t in model.named_buffers()})
    save_file({k: v.detach().contiguous().clone() for k, v in io.items()}, OUT / "resnet_io.safetensors")
    return {
        **RESNET,
        "stateKeys": [[k, list(v.shape)] for k, v in state.items()],
        "grads": RESNET_GRADS,
        "buffers": [n for n, _ in model.named_buffers()],
    }


def dump(header, rows_key, rows):
    """JSON with one row per line, so a regenerated fixture diffs by case."""
    head = json.dumps(header)[:-1]
    return f'{head}, "{rows_key}": [\n' + ",\n".join(json.dumps(r) for r in rows) + "\n]}\n"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cases = [run_case(case, i) for i, case in enumerate(CASES)]
    (OUT / "layers.json").write_text(dump({"torch": torch.__version__}, "cases", cases))
    info = resnet()
    keys = info.pop("stateKeys")
    (OUT / "resnet.json").write_text(dump({"torch": torch.__version__, **info}, "stateKeys", keys))
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(CASES)} layer cases and the ResNet to {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
