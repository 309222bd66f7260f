"""BERT-large (335 M parameters, Devlin et al. 2019: 24 layers, hidden 1024, 16 heads, FFN 4096) from transformers'
own code, built offline from its config with seeded random weights: the large foreign model of
benchmarks/bench_end_to_end.py. A model file for `hwsim simulate` / `hwsim capture`."""

import torch
from transformers import BertConfig, BertModel

SEQUENCE = 128


def model():
    torch.manual_seed(0)
    config = BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                        vocab_size=30522, max_position_embeddings=512)
    return BertModel(config).eval()


def example_args():
    return (torch.randint(0, 30522, (1, SEQUENCE), generator=torch.Generator().manual_seed(0)),)
