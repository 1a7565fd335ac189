"""Golden fixtures for @methodzoo/core safetensors I/O.

Writes, with the official `safetensors.torch.save_file`, one small file holding a tensor of every
dtype PyTorch writes that methodzoo reads, plus a JSON file with each tensor's expected values as
torch itself converts them (float64 numbers, ints, bools), so the TypeScript reader is checked
against PyTorch's own half/bfloat16/float8 -> float conversion.

    python3 tools/golden/safetensors_fixture.py   # rewrites packages/core/test/fixtures/io/
"""

import json
import math
import pathlib

import torch
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parents[2] / "packages" / "core" / "test" / "fixtures" / "io"

INF = float("inf")
NAN = float("nan")

# Values chosen to hit every branch of a float decoder: signed zeros, the smallest and largest
# subnormals, the smallest normal, the largest finite value, infinities, NaN, and values that
# round when narrowed.
F16_SPECIAL = [0.0, -0.0, 2.0**-24, -(2.0**-24), 1023 * 2.0**-24, 2.0**-14, 65504.0, -65504.0, INF, -INF, NAN, 1 / 3, -1.5, 1.0]
BF16_SPECIAL = [0.0, -0.0, 2.0**-133, 127 * 2.0**-133, 2.0**-126, 3.3895313892515355e38, INF, -INF, NAN, 1 / 3, -1.5, 1.0]
F32_SPECIAL = [0.0, -0.0, 2.0**-149, -(2.0**-149), 0x7FFFFF * 2.0**-149, 2.0**-126, 3.4028234663852886e38, INF, -INF, NAN, 1 / 3, -2.25]
F64_SPECIAL = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, INF, -INF, NAN, 1 / 3, -2.25, 1e-300]
F8_E4M3_SPECIAL = [0.0, -0.0, 2.0**-9, 7 * 2.0**-9, 2.0**-6, 448.0, -448.0, NAN, 1 / 3, -1.5]
F8_E5M2_SPECIAL = [0.0, -0.0, 2.0**-16, 3 * 2.0**-16, 2.0**-14, 57344.0, -57344.0, INF, -INF, NAN, 1 / 3, -1.5]


def tensors() -> dict[str, torch.Tensor]:
    return {
        "float32": torch.tensor(F32_SPECIAL, dtype=torch.float32).reshape(3, 4),
        "float64": torch.tensor(F64_SPECIAL, dtype=torch.float64).reshape(2, 6),
        "float16": torch.tensor(F16_SPECIAL, dtype=torch.float16).reshape(2, 7),
        "bfloat16": torch.tensor(BF16_SPECIAL, dtype=torch.bfloat16).reshape(4, 3),
        "float8_e4m3fn": torch.tensor(F8_E4M3_SPECIAL, dtype=torch.float32).to(torch.float8_e4m3fn),
        "float8_e5m2": torch.tensor(F8_E5M2_SPECIAL, dtype=torch.float32).to(torch.float8_e5m2),
        # Every float8 bit pattern, decoded by torch.
        "float8_e4m3fn_all": torch.arange(256, dtype=torch.int32).to(torch.uint8).view(torch.float8_e4m3fn).reshape(16, 16),
        "float8_e5m2_all": torch.arange(256, dtype=torch.int32).to(torch.uint8).view(torch.float8_e5m2).reshape(16, 16),
        "int64": torch.tensor([-(2**31), 2**31 - 1, 0, -1, 123456789, -987654321], dtype=torch.int64).reshape(2, 3),
        "int32": torch.tensor([-(2**31), 2**31 - 1, 0, -7], dtype=torch.int32),
        "int16": torch.tensor([-32768, 32767, 0, -1, 1234], dtype=torch.int16),
        "int8": torch.tensor([-128, 127, 0, -1, 42], dtype=torch.int8),
        "uint8": torch.tensor([0, 255, 128, 1, 7], dtype=torch.uint8),
        "uint16": torch.tensor([0, 65535, 32768, 1], dtype=torch.uint16),
        "uint32": torch.tensor([0, 2**31 - 1, 1, 77], dtype=torch.uint32),
        "uint64": torch.tensor([0, 2**31 - 1, 5], dtype=torch.uint64),
        "bool": torch.tensor([[True, False], [False, True], [True, True]]),
        # nn-style dotted names, a 0-d scalar and an empty tensor.
        "layer.0.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 8,
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }


def encode_float(x: float):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x  # json writes -0.0 and shortest round-trip reprs, which JSON.parse reads back exactly


def expected(t: torch.Tensor) -> dict:
    flat = t.reshape(-1)
    entry: dict = {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape)}
    if t.dtype == torch.bool:
        entry["values"] = [bool(v) for v in flat.tolist()]
    elif t.dtype.is_floating_point:
        entry["values"] = [encode_float(v) for v in flat.double().tolist()]
        if t.dtype != torch.float64:
            # torch's own widening to float32, bit for bit (NaN payloads included).
            entry["float32_bits"] = [b & 0xFFFFFFFF for b in flat.float().view(torch.int32).tolist()]
    else:
        entry["values"] = [int(v) for v in flat.to(torch.int64).tolist()]
    return entry


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ts = tensors()
    metadata = {"format": "pt", "producer": "tools/golden/safetensors_fixture.py", "torch": torch.__version__.split("+")[0]}
    save_file(ts, str(OUT / "torch_dtypes.safetensors"), metadata=metadata)
    # One tensor per line keeps regenerated fixtures readable in a diff.
    compact = lambda v: json.dumps(v, separators=(",", ":"))
    lines = [f"  {compact(name)}: {compact(expected(t))}" for name, t in ts.items()]
    text = f'{{"metadata": {compact(metadata)}, "tensors": {{\n' + ",\n".join(lines) + "\n}}\n"
    (OUT / "torch_dtypes.json").write_text(text)

    # Only the dtypes methodzoo writes, no metadata: our writer must reproduce this file byte for byte.
    layout = {
        "b.bias": torch.tensor([0.5, -0.0, float("inf")], dtype=torch.float32),
        "a.weight": torch.tensor([[1.0, 2.0], [3.0, 2.0**-149]], dtype=torch.float32),
        "steps": torch.tensor([1, -2, 2**31 - 1], dtype=torch.int32),
        "mask": torch.tensor([True, False, True]),
        "x64": torch.tensor([1 / 3, -5e-324], dtype=torch.float64),
        "n\u00e4me": torch.tensor(7.0, dtype=torch.float32),
        "empty": torch.zeros(0, dtype=torch.float32),
    }
    save_file(layout, str(OUT / "methodzoo_layout.safetensors"))

    # Values that do not fit int32, to check the reader's range errors name the tensor.
    save_file({"ok": torch.tensor([1, 2], dtype=torch.int64), "step": torch.tensor([0, 2**31], dtype=torch.int64)}, str(OUT / "int64_overflow.safetensors"))
    save_file({"count": torch.tensor([3, 2**32 - 1], dtype=torch.uint32)}, str(OUT / "uint32_overflow.safetensors"))
    for p in sorted(OUT.iterdir()):
        print(f"{p.stat().st_size:7d}  {p.relative_to(OUT.parents[4])}")


if __name__ == "__main__":
    main()
