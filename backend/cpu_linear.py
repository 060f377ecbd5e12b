"""How CLIP's linear layers run on a CPU. They are most of its time: 75% of a text query, measured with torch's
profiler. Two ways, both swapped in once at load time:
- packed (float32, bfloat16): each weight reordered once into oneDNN's blocked layout, so that a call does not
  reorder it again. The same arithmetic: the vectors are identical; a text query and the vision tower both run
  faster (docs/performance.md has the figures).
- int8: torch's dynamic quantization, int8 weights and activations quantized per call.
"""

import warnings

import torch

TEXT_ROWS_HINT = 16  # rows per call the packed layout is chosen for: a query's tokens
IMAGE_ROWS_HINT = 32 * 50  # a batch of 32 images (the default batch size) of 50 ViT-B/32 tokens


class PackedLinear(torch.nn.Module):
    """An nn.Linear whose weight was reordered once for oneDNN's matmul (the layout torch.compile's freezing uses)."""

    def __init__(self, linear: torch.nn.Linear, rows_hint: int) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), rows_hint)
        self.register_buffer("packed_weight", packed)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x @ weight.T + bias through the packed weight."""
        return torch.ops.mkldnn._linear_pointwise(x, self.packed_weight, self.bias, "none", [], "")


def can_pack(dtype: torch.dtype) -> bool:
    """True where torch has oneDNN's packed linear for this dtype (a CPU build with mkldnn, bf16 hardware)."""
    if not torch.backends.mkldnn.is_available():
        return False
    if dtype == torch.bfloat16:
        return torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return dtype == torch.float32


def pack_linears(module: torch.nn.Module, rows_hint: int) -> torch.nn.Module:
    """Every nn.Linear in `module` replaced, in place, by a PackedLinear; returns the module."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.Linear):
            setattr(module, name, PackedLinear(child, rows_hint))
        else:
            pack_linears(child, rows_hint)
    return module


def quantize_linear_int8(module: torch.nn.Module) -> torch.nn.Module:
    """Every nn.Linear as int8 weights with activations quantized per call (PyTorch's dynamic quantization): about
    as fast as packed bfloat16 for the vision tower. torch.ao marks this API deprecated in favour of torchao, whose
    eager int8 path measured slower than bfloat16 here; torch is pinned, so it stays."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\..*")
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*")
        return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
