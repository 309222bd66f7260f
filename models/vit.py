"""The project's own Vision Transformer with DeiT shapes (Touvron et al. 2021, "Training data-efficient image
transformers & distillation through attention").

Written out by hand (no timm/torchvision) so every matmul is a visible module or operator the simulator can map:
patch-embed Conv2d, one fused qkv Linear per block, an explicit ``q @ k^T`` and ``attn @ v``, the output
projection and the two MLP Linears. Weights are randomly initialised; nothing is downloaded.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import register_model

__all__ = ["Attention", "Block", "Mlp", "PatchEmbed", "VisionTransformer", "deit_base", "deit_small", "deit_tiny"]

AttentionKind = Literal["explicit", "sdpa"]


class PatchEmbed(nn.Module):
    """Non-overlapping patches as a strided Conv2d, flattened to a ``(B, num_patches, dim)`` token sequence."""

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, dim: int = 768) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"img_size {img_size} is not a multiple of patch_size {patch_size}")
        self.img_size = img_size
        self.patch_size = patch_size
        self.grid = img_size // patch_size
        self.num_patches = self.grid * self.grid
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, D, g, g) -> (B, g*g, D)


class Attention(nn.Module):
    """Multi-head self-attention with a single fused qkv projection.

    ``attention="explicit"`` spells out ``softmax(q @ k^T * scale) @ v`` so QK^T and AV appear as separate matmuls
    in traces/exports; ``"sdpa"`` uses ``F.scaled_dot_product_attention`` (same maths, fused kernel).
    """

    def __init__(
        self, dim: int, num_heads: int, *, qkv_bias: bool = True, attention: AttentionKind = "explicit"
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        if attention not in ("explicit", "sdpa"):
            raise ValueError(f"attention must be 'explicit' or 'sdpa', got {attention!r}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.attention = attention
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        # (B, N, 3C) -> (3, B, heads, N, head_dim): same layout as timm's DeiT, so its checkpoints would map 1:1.
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.attention == "sdpa":
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            out = attn @ v
        out = out.transpose(1, 2).reshape(B, N, C)
        return self.proj(out)


class Mlp(nn.Module):
    """Transformer feed-forward: Linear(D, rD) -> GELU -> Linear(rD, D)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``."""

    def __init__(
        self, dim: int, num_heads: int, *, mlp_ratio: float = 4.0, attention: AttentionKind = "explicit"
    ) -> None:
        super().__init__()
        # eps=1e-6 matches the DeiT reference implementation.
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, attention=attention)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT/DeiT classifier: patch embed + class token + learned position embedding, ``depth`` blocks, final
    LayerNorm and a linear head on the class token."""

    # What hwsim.frontend.prune targets by default: the transformer blocks' linear layers, as LPViT prunes them
    # (the patch embedding and the classifier head stay dense).
    hwsim_prunable = ("blocks.*",)

    def __init__(
        self,
        *,
        img_size: int = 224,
        patch_size: int = 16,
        in_chans: int = 3,
        num_classes: int = 1000,
        dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        attention: AttentionKind = "explicit",
    ) -> None:
        super().__init__()
        self.dim = dim
        self.depth = depth
        self.num_heads = num_heads
        self.num_classes = num_classes
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, dim)
        self.num_tokens = self.patch_embed.num_patches + 1  # + class token
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_tokens, dim))
        self.blocks = nn.ModuleList(
            Block(dim, num_heads, mlp_ratio=mlp_ratio, attention=attention) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # DeiT/timm recipe: truncated normal(0.02) for embeddings and Linears, zero biases, unit LayerNorms.
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def attention(self) -> str:
        """The attention implementation used by every block (``"explicit"`` or ``"sdpa"``)."""
        return self.blocks[0].attn.attention if self.depth else "explicit"

    def set_attention(self, attention: AttentionKind) -> None:
        """Switch every block between explicit and SDPA attention in place (weights are unaffected)."""
        if attention not in ("explicit", "sdpa"):
            raise ValueError(f"attention must be 'explicit' or 'sdpa', got {attention!r}")
        for blk in self.blocks:
            blk.attn.attention = attention

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` -> token sequence ``(B, num_tokens, dim)`` (class token first, plus positions)."""
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return torch.cat((cls, x), dim=1) + self.pos_embed

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> normalised token sequence after the last block."""
        x = self.embed(x)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x)[:, 0])

    def mac_breakdown(self, batch: int = 1) -> dict[str, int]:
        """Analytic multiply-accumulate counts per operator kind, from the module shapes (no forward pass).

        Counts every matmul-like op: patch-embed conv, qkv, QK^T, AV, proj, MLP fc1/fc2 and the head.
        LayerNorm, softmax, GELU, bias adds and residual adds are not MACs and are left out.
        """
        pe = self.patch_embed.proj
        n_patches = self.patch_embed.num_patches
        n = self.num_tokens
        kh, kw = pe.kernel_size
        counts = {
            "patch_embed": n_patches * pe.out_channels * pe.in_channels * kh * kw,
            "qkv": 0,
            "qk": 0,
            "av": 0,
            "proj": 0,
            "mlp": 0,
            "head": self.head.in_features * self.head.out_features,  # class token only
        }
        for blk in self.blocks:
            a = blk.attn
            counts["qkv"] += n * a.qkv.in_features * a.qkv.out_features
            # Per head: (N x hd) @ (hd x N) and (N x N) @ (N x hd); summed over heads this is N*N*D each.
            counts["qk"] += a.num_heads * n * n * a.head_dim
            counts["av"] += a.num_heads * n * n * a.head_dim
            counts["proj"] += n * a.proj.in_features * a.proj.out_features
            counts["mlp"] += n * (blk.mlp.fc1.in_features * blk.mlp.fc1.out_features
                                  + blk.mlp.fc2.in_features * blk.mlp.fc2.out_features)
        return {k: v * batch for k, v in counts.items()}

    def macs(self, batch: int = 1) -> int:
        """Total analytic MACs for one forward pass of ``batch`` images (see :meth:`mac_breakdown`)."""
        return sum(self.mac_breakdown(batch).values())


def _deit(dim: int, num_heads: int, depth: int = 12, **kwargs: object) -> VisionTransformer:
    return VisionTransformer(dim=dim, num_heads=num_heads, depth=depth, **kwargs)  # type: ignore[arg-type]


_DEIT_TAGS = ("vit", "transformer", "imagenet", "deit")


@register_model("deit_tiny", description="DeiT-Ti: ViT, D=192, 3 heads, 12 blocks, 224x224/16 (197 tokens)",
                tags=_DEIT_TAGS, input_shape=(3, 224, 224))
def deit_tiny(**kwargs: object) -> VisionTransformer:
    """DeiT-Tiny (5.7M params, 1.25 GMAC at 224x224). ``kwargs`` go to :class:`VisionTransformer`."""
    return _deit(192, 3, **kwargs)


@register_model("deit_small", description="DeiT-S: ViT, D=384, 6 heads, 12 blocks, 224x224/16 (197 tokens)",
                tags=_DEIT_TAGS, input_shape=(3, 224, 224))
def deit_small(**kwargs: object) -> VisionTransformer:
    """DeiT-Small (22M params, 4.60 GMAC at 224x224). ``kwargs`` go to :class:`VisionTransformer`."""
    return _deit(384, 6, **kwargs)


@register_model("deit_base", description="DeiT-B: ViT, D=768, 12 heads, 12 blocks, 224x224/16 (197 tokens)",
                tags=_DEIT_TAGS, input_shape=(3, 224, 224))
def deit_base(**kwargs: object) -> VisionTransformer:
    """DeiT-Base (86M params, 17.56 GMAC at 224x224). ``kwargs`` go to :class:`VisionTransformer`."""
    return _deit(768, 12, **kwargs)

