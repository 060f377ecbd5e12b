"""The CLIP model, one home for both sides: loading by name, device and precision, batch embedding.

Vectors are L2-normalised float32 numpy arrays, so inner product = cosine everywhere downstream.
"""

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from transformers import (
    CLIPConfig,
    CLIPImageProcessorPil,
    CLIPModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionModelWithProjection,
)
from transformers.utils import logging as hf_logging

from backend.cpu_linear import IMAGE_ROWS_HINT, TEXT_ROWS_HINT, can_pack, pack_linears, quantize_linear_int8
from backend.errors import ArtsearchError
from backend.settings import Precision

log = logging.getLogger(__name__)
hf_logging.set_verbosity_error()  # the per-tensor load reports are noise for our users
hf_logging.disable_progress_bar()

TOKENIZER_DIR = Path(__file__).resolve().parent / "assets" / "clip-tokenizer"
RANDOM_MARKER = "ARTSEARCH_RANDOM_WEIGHTS"
MAX_TEXT_TOKENS = 77


@dataclass(frozen=True)
class PreprocessSpec:
    """What CLIP's image processor does, as numbers: resize shortest side, centre crop, normalise."""

    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def preprocess_spec(proc: CLIPImageProcessorPil) -> PreprocessSpec:
    """What a CLIP image processor does, as numbers (no model needed)."""
    size = proc.size.get("shortest_edge") or min(proc.size.get("height", 224), proc.size.get("width", 224))
    crop = proc.crop_size.get("height", size) if isinstance(proc.crop_size, dict) else size
    return PreprocessSpec(int(size), int(crop), tuple(proc.image_mean), tuple(proc.image_std))


def cpu_supports_bf16() -> bool:
    """True on CPUs with native bfloat16 (AVX512-BF16 or AMX), where bf16 inference pays off."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_device(device: str) -> str:
    """'auto' picks CUDA when present; asking for CUDA without one is a clear error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ArtsearchError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise ArtsearchError(f"unknown device {device!r}; use auto, cpu or cuda")
    return device


def resolve_precision(device: str, precision: Precision) -> torch.dtype:
    """The dtype the model computes in: float16 on CUDA, bfloat16 on CPUs that support it, float32 otherwise.
    int8 computes in float32 around int8 linear layers, and only on CPU."""
    if precision == "int8":
        if device != "cpu":
            raise ArtsearchError("precision int8 is for CPUs; on CUDA use auto (float16)")
        return torch.float32
    if precision != "auto":
        return getattr(torch, precision)
    if device == "cuda":
        return torch.float16
    return torch.bfloat16 if cpu_supports_bf16() else torch.float32


def precision_name(device: str, precision: Precision) -> str:
    """What a precision setting means on a device, by name: bfloat16, float16, float32 or int8."""
    return "int8" if precision == "int8" else str(resolve_precision(device, precision)).removeprefix("torch.")


class ClipModel:
    """CLIP's vision and text towers with their processor and tokenizer, ready for batched inference."""

    def __init__(
        self,
        name: str,
        vision: CLIPVisionModelWithProjection | None,
        text: CLIPTextModelWithProjection | None,
        tokenizer: CLIPTokenizer | None,
        image_processor: CLIPImageProcessorPil,
        device: str,
        dtype: torch.dtype,
        precision: str,
        random_weights: bool,
    ) -> None:
        self.name = name
        self.vision = vision
        self.text = text
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.device = device
        self.dtype = dtype
        self.precision = precision  # by name: bfloat16, float32, float16 or int8 (see precision_name)
        self.random_weights = random_weights
        config = (vision or text).config
        self.dim: int = config.projection_dim

    @property
    def weights(self) -> str:
        """'random' or 'pretrained', as reported by the CLI and /api/health."""
        return "random" if self.random_weights else "pretrained"

    @property
    def preprocess_spec(self) -> PreprocessSpec:
        """The processor's geometry and normalisation, for our own fast preprocessing."""
        return preprocess_spec(self.image_processor)

    def embed_pixels(self, pixel_values: np.ndarray | torch.Tensor) -> np.ndarray:
        """Embed a preprocessed batch (N, 3, H, W) into unit vectors (N, dim)."""
        if self.vision is None:
            raise ArtsearchError("this model was loaded without its vision tower")
        pixels = torch.as_tensor(pixel_values).to(self.device, self.dtype, non_blocking=True)
        with torch.inference_mode():
            features = self.vision(pixel_values=pixels).image_embeds
        return _normalise(features)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Embed texts (truncated to CLIP's 77 tokens) into unit vectors (N, dim)."""
        if self.text is None or self.tokenizer is None:
            raise ArtsearchError("this model was loaded without its text tower")
        tokens = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TEXT_TOKENS, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            features = self.text(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).text_embeds
        return _normalise(features)


def _normalise(features: torch.Tensor) -> np.ndarray:
    features = torch.nn.functional.normalize(features.float(), dim=-1)
    return features.cpu().numpy().astype(np.float32, copy=False)


def load_clip(
    name: str,
    *,
    device: str = "auto",
    precision: Precision = "auto",
    vision: bool = True,
    text: bool = True,
    allow_random: bool = False,
    home: Path | None = None,
) -> ClipModel:
    """Load CLIP by hub id or local directory; with allow_random, fall back to random weights, loudly."""
    device = resolve_device(device)
    try:
        model = _from_pretrained(name, device, precision, vision, text)
    except (OSError, ValueError) as exc:
        if not allow_random:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtsearchError(
                f"cannot load CLIP model {name!r} ({reason}); set ARTSEARCH_MODEL to a hub id that is "
                "cached or reachable, or to a local directory saved with save_pretrained"
            ) from exc
        random_dir = (home or Path(".artsearch")).resolve() / "models" / "random-clip-vit-base-patch32"
        log.warning("could not load %s; falling back to RANDOM weights of the real architecture", name)
        if not (random_dir / RANDOM_MARKER).exists():
            save_random_clip(random_dir, fallback_config())
        model = _from_pretrained(str(random_dir), device, precision, vision, text)
    return model


def fallback_config() -> CLIPConfig:
    """The offline fallback's architecture: ViT-B/32, the default model's (CLIPConfig's defaults)."""
    return CLIPConfig()


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick look for the model hub, so an offline machine fails in seconds, not after retries."""
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _from_pretrained(name: str, device: str, precision: Precision, vision: bool, text: bool) -> ClipModel:
    if not Path(name).is_dir():
        try:  # a hub id that is already in the local cache loads without the network
            return _load_parts(name, device, precision, vision, text, local_files_only=True)
        except OSError as exc:
            if not _hub_reachable():
                raise OSError(f"{name} is not a local directory, not in the cache, and the hub is unreachable") from exc
    return _load_parts(name, device, precision, vision, text, local_files_only=False)


def _load_parts(
    name: str, device: str, precision: Precision, vision: bool, text: bool, local_files_only: bool
) -> ClipModel:
    dtype = resolve_precision(device, precision)
    opts = {"local_files_only": local_files_only}
    # Weights cast to the inference dtype: measured ~1.4x faster than autocast on a 2-core AVX512-BF16 CPU
    # (benchmarks/pipeline.py), since autocast re-casts every weight on every call.
    # The towers' sub-configs do not always repeat projection_dim: take it from the whole CLIP config.
    config = CLIPConfig.from_pretrained(name, **opts)
    config.vision_config.projection_dim = config.text_config.projection_dim = config.projection_dim
    vision_model = (
        CLIPVisionModelWithProjection.from_pretrained(name, config=config.vision_config, **opts)
        .to(device, dtype)
        .eval()
        if vision
        else None
    )
    text_model = (
        CLIPTextModelWithProjection.from_pretrained(name, config=config.text_config, **opts).to(device, dtype).eval()
        if text
        else None
    )
    if precision == "int8":
        vision_model = quantize_linear_int8(vision_model) if vision_model else None
        text_model = quantize_linear_int8(text_model) if text_model else None
    elif device == "cpu" and can_pack(dtype):
        vision_model = pack_linears(vision_model, IMAGE_ROWS_HINT) if vision_model else None
        text_model = pack_linears(text_model, TEXT_ROWS_HINT) if text_model else None
    tokenizer = CLIPTokenizer.from_pretrained(name, **opts) if text else None
    processor = CLIPImageProcessorPil.from_pretrained(name, **opts)
    random_weights = Path(name, RANDOM_MARKER).exists()
    return ClipModel(
        name,
        vision_model,
        text_model,
        tokenizer,
        processor,
        device,
        dtype,
        precision_name(device, precision),
        random_weights,
    )


def save_random_clip(path: Path, config: CLIPConfig, seed: int = 0) -> Path:
    """Save a random-initialised CLIP of `config` with the real tokenizer and processor, marked as random."""
    torch.manual_seed(seed)
    path.mkdir(parents=True, exist_ok=True)
    CLIPModel(config).save_pretrained(path)
    CLIPTokenizer(str(TOKENIZER_DIR / "vocab.json"), str(TOKENIZER_DIR / "merges.txt")).save_pretrained(path)
    CLIPImageProcessorPil().save_pretrained(path)
    (path / RANDOM_MARKER).write_text("random-initialised weights: search results are not meaningful\n")
    return path
