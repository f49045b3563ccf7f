"""Scene classification by fine-tuning: the encoder and a linear head trained together.

The S2 embedding feeds a linear layer over the 19 BigEarthNet classes; binary
cross-entropy, AdamW (encoder lr 1e-4, head lr 1e-3, weight decay 0.05), seeded shuffles
and random flips, bf16 autocast on CUDA. Scored like the linear probe on the test split.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from csmoe.data.loader import ShardDataset
from csmoe.devices import autocast
from csmoe.evaluation.classification import multilabel_metrics
from csmoe.models.encoder import resample


def finetune(encoder, train, test, stats, *, epochs: int, device, seed: int = 0,
             batch_size: int = 32) -> dict:  # fmt: skip
    """Fine-tune a copy of `encoder` on the `train` shards; score it on `test`."""
    torch.manual_seed(seed)
    model = copy.deepcopy(encoder).to(device).train()
    head = torch.nn.Linear(model.embed_dim, 19).to(device)
    optimizer = torch.optim.AdamW(
        [{"params": model.parameters(), "lr": 1e-4}, {"params": head.parameters(), "lr": 1e-3}],
        weight_decay=0.05,
    )
    data = ShardDataset(train, seed=seed, stats=stats)
    for epoch in range(epochs):
        data.set_epoch(epoch)
        for batch in DataLoader(data, batch_size=batch_size):
            with autocast(device):
                x = resample(batch["s2"].to(device), model.img_size)
                logits = head(model.embedding(x, "s2"))
            loss = F.binary_cross_entropy_with_logits(logits.float(), batch["labels"].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    scores, labels = [], []
    with torch.no_grad(), autocast(device):
        for batch in DataLoader(ShardDataset(test, shuffle=False, flips=False, stats=stats),
                                batch_size=batch_size):  # fmt: skip
            x = resample(batch["s2"].to(device), model.img_size)
            scores.append(torch.sigmoid(head(model.embedding(x, "s2")).float()).cpu().numpy())
            labels.append(batch["labels"].numpy())
    return multilabel_metrics(np.concatenate(labels), np.concatenate(scores)) | {"epochs": epochs}
