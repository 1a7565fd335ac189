"""Golden fixtures for @methodzoo/models: PyTorch twins of every backbone, written here from the papers
(and, for member names, from the reference code each TypeScript file names), so that the
TypeScript models can be checked against them.

    python3 tools/golden/models_golden.py   # rewrites packages/models/test/fixtures/

Writes to packages/models/test/fixtures/:

- models.json: for each configuration in CONFIGS, the TypeScript constructor options (`kind` +
  `options`), PyTorch's parameter count and its state_dict keys in order with their shapes.
  Checked by packages/models/test/models.golden.test.ts (keys as ordered lists, counts exactly).
- resnet20_se.safetensors: a ResNet-20 (width 0.5, SE attention, 1x28x28 input) with randomised
  BatchNorm state: `state.<key>` (its state_dict), `eval.input` / `eval.output` (eval-mode logits)
  and `train.input` / `train.output` (train-mode logits, batch statistics).
- moe_block.safetensors: a pre-LN Transformer block with a 4-expert top-2 MoE feed-forward:
  `state.<key>`, `input`, `output`, `upstream`, `gates` ([T, E], zero off the top-k), `balance`,
  `zloss`, `counts` (expert_counts after the forward) and `grad.<name>` for
  loss = sum(output * upstream) + balance + zloss.
"""

import json
import math
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages" / "models" / "test" / "fixtures"
torch.set_num_threads(1)


# ---- CIFAR ResNet (He et al. 2016, sec. 4.2; torchvision names; SE of Hu et al. 2018) -------------


class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))
        return x * s[:, :, None, None]


def shortcut(inplanes, out, stride):
    if stride == 1 and inplanes == out:
        return None
    return nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, attention=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attention = attention
        self.downsample = shortcut(inplanes, planes, stride)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.attention is not None:
            out = self.attention(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, attention=None):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.attention = attention
        self.downsample = shortcut(inplanes, out, stride)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.attention is not None:
            out = self.attention(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    def __init__(self, depth, block="basic", inChannels=3, numClasses=10, width=1.0, se=False):
        super().__init__()
        per = 6 if block == "basic" else 9
        assert (depth - 2) % per == 0
        n = (depth - 2) // per
        Block = BasicBlock if block == "basic" else Bottleneck
        widths = [max(1, round(w * width)) for w in (16, 32, 64)]
        self.conv1 = nn.Conv2d(inChannels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        inplanes = widths[0]
        for s, planes in enumerate(widths):
            blocks = []
            for j in range(n):
                out = planes * Block.expansion
                blocks.append(Block(inplanes, planes, 2 if j == 0 and s > 0 else 1, SEBlock(out) if se else None))
                inplanes = out
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, numClasses)

    def forward(self, x):
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(torch.flatten(self.avgpool(h), 1))


# ---- MLP (torchvision.ops.MLP layout) ------------------------------------------------------------


def mlp(sizes, activation="relu", dropout=0.0, norm=None, bias=True):
    acts = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=bias))
        if i + 2 < len(sizes):
            if norm == "batch":
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
            elif norm == "layer":
                layers.append(nn.LayerNorm(sizes[i + 1]))
            layers.append(acts[activation]())
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


# ---- DDPM UNet (Ho et al. 2020; improved-diffusion's UNetModel names) ------------------------------


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


class TimestepEmbedSequential(nn.Sequential):
    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class ResBlock(nn.Module):
    def __init__(self, channels, emb_dim, out_channels, dropout, groups):
        super().__init__()
        self.in_layers = nn.Sequential(nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, out_channels))
        self.out_layers = nn.Sequential(nn.GroupNorm(groups, out_channels), nn.SiLU(), nn.Dropout(dropout), nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x, emb):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class AttentionBlock(nn.Module):
    def __init__(self, channels, num_heads, groups):
        super().__init__()
        self.num_heads = num_heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x)).reshape(b * self.num_heads, -1, x.shape[2])
        q, k, v = torch.split(qkv, c // self.num_heads, dim=1)
        scale = 1 / math.sqrt(math.sqrt(c // self.num_heads))
        w = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
        h = torch.einsum("bts,bcs->bct", w, v).reshape(b, -1, x.shape[2])
        return (x + self.proj_out(h)).reshape(b, c, *spatial)


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class UNet(nn.Module):
    def __init__(self, inChannels=3, outChannels=None, modelChannels=64, channelMult=(1, 2, 2), numResBlocks=2, attentionResolutions=(2,),
                 numHeads=1, dropout=0.0, numGroups=32, middleAttention=True, numClasses=None, skipMode="concat"):
        super().__init__()
        mc, emb = modelChannels, 4 * modelChannels
        self.skip_mode = skipMode
        res = lambda cin, cout: ResBlock(cin, emb, cout, dropout, numGroups)  # noqa: E731
        attn = lambda c: AttentionBlock(c, numHeads, numGroups)  # noqa: E731
        self.time_embed = nn.Sequential(nn.Linear(mc, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label_emb = nn.Embedding(numClasses, emb) if numClasses else None
        self.input_blocks = nn.ModuleList([TimestepEmbedSequential(nn.Conv2d(inChannels, mc, 3, padding=1))])
        chans, ch, ds = [mc], mc, 1
        for level, m in enumerate(channelMult):
            for _ in range(numResBlocks):
                layers = [res(ch, m * mc)]
                ch = m * mc
                if ds in attentionResolutions:
                    layers.append(attn(ch))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                chans.append(ch)
            if level != len(channelMult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(Downsample(ch)))
                chans.append(ch)
                ds *= 2
        mid = [res(ch, ch), attn(ch), res(ch, ch)] if middleAttention else [res(ch, ch), res(ch, ch)]
        self.middle_block = TimestepEmbedSequential(*mid)
        self.output_blocks = nn.ModuleList([])
        proj = {}
        for level, m in list(enumerate(channelMult))[::-1]:
            for i in range(numResBlocks + 1):
                index = len(chans) - 1
                sc = chans.pop()
                if skipMode == "add" and sc != ch:
                    proj[str(index)] = nn.Conv2d(sc, ch, 1)
                layers = [res(ch + sc if skipMode == "concat" else ch, m * mc)]
                ch = m * mc
                if ds in attentionResolutions:
                    layers.append(attn(ch))
                if level and i == numResBlocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))
        self.out = nn.Sequential(nn.GroupNorm(numGroups, ch), nn.SiLU(), nn.Conv2d(mc, outChannels or inChannels, 3, padding=1))
        self.skip_proj = nn.ModuleDict(proj) if proj else None


# ---- U-ViT (Bao et al. 2023; libs/uvit.py names) ---------------------------------------------------


class ViTAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=False):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)


class ViTMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)


class UViTBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, skip=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ViTAttention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = ViTMlp(dim, int(dim * mlp_ratio))
        self.skip_linear = nn.Linear(2 * dim, dim) if skip else None


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, stride=patch)


class UViT(nn.Module):
    def __init__(self, imageSize=32, patchSize=2, inChannels=3, embedDim=128, depth=6, numHeads=4, mlpRatio=4.0, qkvBias=False,
                 mlpTimeEmbed=False, numClasses=0, conv=True, skip=True):
        super().__init__()
        d = embedDim
        self.patch_embed = PatchEmbed(patchSize, inChannels, d)
        self.time_embed = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d)) if mlpTimeEmbed else nn.Identity()
        self.label_emb = nn.Embedding(numClasses, d) if numClasses > 0 else None
        extras = 2 if numClasses > 0 else 1
        self.pos_embed = nn.Parameter(torch.zeros(1, extras + (imageSize // patchSize) ** 2, d))
        self.in_blocks = nn.ModuleList([UViTBlock(d, numHeads, mlpRatio, qkvBias) for _ in range(depth // 2)])
        self.mid_block = UViTBlock(d, numHeads, mlpRatio, qkvBias)
        self.out_blocks = nn.ModuleList([UViTBlock(d, numHeads, mlpRatio, qkvBias, skip=skip) for _ in range(depth // 2)])
        self.norm = nn.LayerNorm(d)
        self.decoder_pred = nn.Linear(d, patchSize**2 * inChannels)
        self.final_layer = nn.Conv2d(inChannels, inChannels, 3, padding=1) if conv else nn.Identity()


# ---- Transformer block with optional top-k MoE (Switch / Mixtral) ----------------------------------


class FeedForward(nn.Module):
    def __init__(self, dim, hidden, dropout=0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(self.act(self.fc1(x))))


class MoEFeedForward(nn.Module):
    def __init__(self, dim, numExperts, topK=2, hidden=None, dropout=0.0, routerZLoss=True):
        super().__init__()
        self.k = topK
        self.router = nn.Linear(dim, numExperts, bias=False)
        self.experts = nn.ModuleList([FeedForward(dim, hidden or 4 * dim, dropout) for _ in range(numExperts)])
        self.register_buffer("expert_counts", torch.zeros(numExperts, dtype=torch.int64))

    def forward(self, x):
        shape = x.shape
        xf = x.reshape(-1, shape[-1])
        logits = self.router(xf)
        probs = torch.softmax(logits, dim=-1)
        top, idx = torch.topk(probs, self.k, dim=-1)
        mask = torch.zeros_like(probs, dtype=torch.bool).scatter_(1, idx, True)
        picked = probs * mask
        gates = picked / picked.sum(-1, keepdim=True)
        out = torch.zeros_like(xf)
        for j, expert in enumerate(self.experts):
            tokens = mask[:, j].nonzero(as_tuple=True)[0]
            if tokens.numel():
                out = out.index_add(0, tokens, expert(xf[tokens]) * gates[tokens, j : j + 1])
        counts = mask.sum(0)
        self.expert_counts += counts
        e = probs.shape[1]
        self.balance = e * torch.sum(counts.to(probs.dtype) / xf.shape[0] * probs.mean(0))
        self.zloss = torch.logsumexp(logits, dim=-1).pow(2).mean()
        self.gates = gates
        self.margin = (top[:, -1] - torch.where(mask, -1.0, probs).max(-1).values).min()
        return out.reshape(shape)


class TransformerBlock(nn.Module):
    def __init__(self, dim, numHeads=4, mlpRatio=4.0, dropout=0.0, causal=True, moe=None):
        super().__init__()
        hidden = int(dim * mlpRatio)
        self.causal = causal
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, numHeads, dropout=dropout, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.ffn = MoEFeedForward(dim, hidden=hidden, dropout=dropout, **moe) if moe else FeedForward(dim, hidden, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        a = self.ln1(x)
        L = x.shape[1]
        mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1) if self.causal else None
        h = x + self.drop(self.attn(a, a, a, attn_mask=mask, need_weights=False)[0])
        return h + self.drop(self.ffn(self.ln2(h)))


class GPT(nn.Module):
    def __init__(self, vocabSize, blockSize, dim=64, numLayers=2, numHeads=4, mlpRatio=4.0, dropout=0.0, moe=None, moeLayers="all"):
        super().__init__()
        uses = lambda i: moeLayers == "all" or (i % 2 == 1 if moeLayers == "alternate" else i in moeLayers)  # noqa: E731
        self.tok_emb = nn.Embedding(vocabSize, dim)
        self.pos_emb = nn.Embedding(blockSize, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([TransformerBlock(dim, numHeads, mlpRatio, dropout, moe=moe if moe and uses(i) else None) for i in range(numLayers)])
        self.ln_f = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocabSize, bias=False)


# ---- configurations --------------------------------------------------------------------------------

# name -> (TypeScript kind, TypeScript options (also the PyTorch kwargs after `adapt`)).
CONFIGS = {
    "resnet20": ("resnet", {"depth": 20}),
    "resnet20_se": ("resnet", {"depth": 20, "attention": "se"}),
    "resnet20_se_mnist_quarter": ("resnet", {"depth": 20, "attention": "se", "inChannels": 1, "width": 0.25}),
    "resnet164_quarter": ("resnet", {"depth": 164, "block": "bottleneck", "width": 0.25, "numClasses": 100}),
    "mlp": ("mlp", {"sizes": [784, 128, 10]}),
    "mlp_batchnorm_gelu": ("mlp", {"sizes": [20, 32, 16, 5], "activation": "gelu", "norm": "batch", "dropout": 0.1}),
    "mlp_layernorm": ("mlp", {"sizes": [8, 16, 4], "norm": "layer", "bias": False}),
    "unet_small": ("unet", {"inChannels": 1, "modelChannels": 32, "channelMult": [1, 2], "numResBlocks": 1, "attentionResolutions": [2], "numHeads": 2}),
    "unet_add_classes": ("unet", {"inChannels": 3, "modelChannels": 32, "channelMult": [1, 2, 2], "numResBlocks": 2, "attentionResolutions": [4],
                                  "numGroups": 8, "numClasses": 10, "skipMode": "add", "middleAttention": False}),
    "uvit_small": ("uvit", {"imageSize": 28, "patchSize": 4, "inChannels": 1, "embedDim": 64, "depth": 4, "numHeads": 2}),
    "uvit_classes_mlp_time": ("uvit", {"imageSize": 16, "patchSize": 2, "inChannels": 3, "embedDim": 48, "depth": 6, "numHeads": 3,
                                       "numClasses": 10, "mlpTimeEmbed": True, "qkvBias": True, "mlpRatio": 2}),
    "transformer_block": ("block", {"dim": 32, "numHeads": 4}),
    "transformer_block_moe": ("block", {"dim": 32, "numHeads": 4, "moe": {"numExperts": 4, "topK": 2}}),
    "gpt_tiny_moe": ("gpt", {"vocabSize": 65, "blockSize": 16, "dim": 32, "numLayers": 3, "numHeads": 4, "moe": {"numExperts": 4, "topK": 1}, "moeLayers": "alternate"}),
}


def build(kind, opts):
    opts = dict(opts)
    if kind == "resnet":
        opts["se"] = opts.pop("attention", None) == "se"
        return CifarResNet(**opts)
    if kind == "mlp":
        return mlp(**opts)
    if kind == "unet":
        return UNet(**opts)
    if kind == "uvit":
        return UViT(**opts)
    if kind == "block":
        return TransformerBlock(**opts)
    if kind == "gpt":
        return GPT(**opts)
    raise ValueError(kind)


def randomise_norms(model, gen):
    """BatchNorm starts at weight 1, bias 0, mean 0, var 1; give it values that catch mix-ups."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(5)


def resnet_fixture():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = build(*CONFIGS["resnet20_se_mnist_quarter"])
    randomise_norms(model, gen)
    tensors = {f"state.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    model.eval()
    x = torch.randn(4, 1, 28, 28, generator=gen)
    with torch.no_grad():
        tensors["eval.input"] = x
        tensors["eval.output"] = model(x)
        model.train()
        x2 = torch.randn(4, 1, 28, 28, generator=gen)
        tensors["train.input"] = x2
        tensors["train.output"] = model(x2)
    save_file({k: v.contiguous() for k, v in tensors.items()}, OUT / "resnet20_se.safetensors")


MOE_CASE = ("block", {"dim": 16, "numHeads": 2, "mlpRatio": 2, "moe": {"numExperts": 4, "topK": 2}})
MOE_GRADS = ["ffn.router.weight", "ffn.experts.0.fc1.weight", "ffn.experts.3.fc2.bias", "attn.in_proj_weight", "ln2.weight"]


def moe_fixture():
    # Reseed until no token sits near a top-k tie, so float32 rounding cannot change the selection.
    for seed in range(100):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(100 + seed)
        model = build(*MOE_CASE)
        randomise_norms(model, gen)
        with torch.no_grad():
            model.ffn.router.weight.mul_(4)  # sharper routing than the default init
        state = {f"state.{k}": v.detach().clone() for k, v in model.state_dict().items()}
        x = torch.randn(2, 6, 16, generator=gen)
        out = model(x)
        if model.ffn.margin.item() > 1e-3:
            break
    upstream = torch.randn(out.shape, generator=gen)
    ffn = model.ffn
    loss = (out * upstream).sum() + ffn.balance + ffn.zloss
    loss.backward()
    params = dict(model.named_parameters())
    tensors = {
        **state,
        "input": x,
        "output": out.detach(),
        "upstream": upstream,
        "gates": ffn.gates.detach(),
        "balance": ffn.balance.detach(),
        "zloss": ffn.zloss.detach(),
        "counts": ffn.expert_counts.clone(),
    }
    tensors.update({f"grad.{n}": params[n].grad for n in MOE_GRADS})
    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, OUT / "moe_block.safetensors")
    return {"kind": MOE_CASE[0], "options": MOE_CASE[1], "grads": MOE_GRADS, "seed": seed}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (kind, opts) in CONFIGS.items():
        torch.manual_seed(0)
        model = build(kind, opts)
        keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        rows.append(json.dumps({"name": name, "kind": kind, "options": opts, "numParams": sum(p.numel() for p in model.parameters()), "stateKeys": keys}))
    resnet_fixture()
    moe = moe_fixture()
    text = json.dumps({"torch": torch.__version__, "moe": moe})[:-1] + ', "models": [\n' + ",\n".join(rows) + "\n]}\n"
    (OUT / "models.json").write_text(text)
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(CONFIGS)} model configurations and 2 output fixtures to {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
