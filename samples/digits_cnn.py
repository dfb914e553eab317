"""Training and evaluation (example 23): a CNN on the 8×8 digits of scikit-learn.

Loads the data in batches, trains with forward/backward and a loss, keeps a validation split,
runs k-fold cross-validation, reports accuracy/precision/recall/F1 and the confusion matrix,
saves and reloads the model, and shows the usual debugging looks: the data, the predictions, and
the gradients per layer.

Run: ``python samples/digits_cnn.py [--fast] [--epochs N] [--folds K] [--save-weights PATH]``.
The data ships inside scikit-learn (nothing is downloaded).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import graphlab as gl
from graphlab import metrics, nn, optim
from graphlab.utils.data import DataLoader, KFold, Subset, TensorDataset, random_split

WEIGHTS = Path(__file__).resolve().parent / "weights" / "digits_cnn.gl"


class DigitsCNN(nn.Module):
    """Two conv blocks and a small classifier for 1×8×8 images."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def load_digits_tensors(device=None):
    """The 1,797 digits as ``(N, 1, 8, 8)`` float32 images in [0, 1] and int64 labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = gl.tensor((d.images / 16.0).astype(np.float32)).unsqueeze(1)
    y = gl.tensor(d.target.astype(np.int64))
    return x.to(device or "cpu"), y.to(device or "cpu")


def train(model, loader, epochs: int, lr: float = 3e-3, log=print):
    """Adam on cross-entropy; returns the mean loss of each epoch."""
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        model.train()
        total = gl.zeros(())
        n = 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * len(yb)  # NOTE: stays a tensor: no host sync per step
            n += len(yb)
        history.append(total.item() / n)
        if log and (epoch + 1) % max(1, epochs // 5) == 0:
            log(f"  epoch {epoch + 1:3d}: loss {history[-1]:.4f}")
    return history


@gl.no_grad()
def predict(model, x, batch_size: int = 512):
    """Class predictions for images ``x`` (eval mode)."""
    model.eval()
    return gl.cat([model(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


def evaluate(model, x, y) -> dict:
    """Accuracy, macro precision/recall/F1 and the confusion matrix."""
    pred = predict(model, x)
    return {
        "accuracy": metrics.accuracy(y, pred),
        "precision": metrics.precision(y, pred, average="macro"),
        "recall": metrics.recall(y, pred, average="macro"),
        "f1": metrics.f1_score(y, pred, average="macro"),
        "confusion": metrics.confusion_matrix(y, pred, labels=list(range(10))),
    }


def cross_validate(x, y, folds: int, epochs: int, batch_size: int, seed: int, log=print):
    """k-fold cross-validation accuracy on ``(x, y)``."""
    dataset = TensorDataset(x, y)
    scores = []
    splitter = KFold(folds, shuffle=True, generator=gl.Generator().manual_seed(seed))
    for k, (tr, va) in enumerate(splitter.split(dataset)):
        gl.manual_seed(seed + k)
        model = DigitsCNN()
        loader = DataLoader(
            Subset(dataset, tr),
            batch_size=batch_size,
            shuffle=True,
            generator=gl.Generator().manual_seed(seed + k),
        )
        train(model, loader, epochs, log=None)
        xv, yv = x[gl.tensor(va)], y[gl.tensor(va)]
        scores.append(metrics.accuracy(yv, predict(model, xv)))
        log(f"  fold {k + 1}/{folds}: val accuracy {scores[-1]:.4f}")
    return scores


def gradient_report(model, x, y) -> list[tuple[str, float]]:
    """The gradient norm of each parameter after one backward pass (a debugging look)."""
    model.train()
    model.zero_grad()
    nn.CrossEntropyLoss()(model(x), y).backward()
    return [(name, float(p.grad.norm())) for name, p in model.named_parameters()]


def main(argv: list[str] | None = None) -> dict:
    """Train, validate, cross-validate, report, save/load and debug; returns the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fast", action="store_true", help="few epochs and folds (for tests)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--folds", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-weights", default=None, help="also write the trained weights here")
    args = p.parse_args(argv)
    epochs = args.epochs or (4 if args.fast else 40)
    folds = args.folds or (2 if args.fast else 5)
    t0 = time.perf_counter()
    gl.manual_seed(args.seed)

    x, y = load_digits_tensors()
    # Debugging look 1: the data.
    counts = gl.stack([(y == c).sum() for c in range(10)])
    print(
        f"data: {tuple(x.shape)} images in [{x.min().item():.1f}, {x.max().item():.1f}], "
        f"labels per class {counts.tolist()}"
    )

    split = gl.Generator().manual_seed(args.seed)
    full = TensorDataset(x, y)
    train_set, val_set, test_set = random_split(full, [0.7, 0.1, 0.2], generator=split)
    idx = {
        name: gl.tensor(s.indices)
        for name, s in (("train", train_set), ("val", val_set), ("test", test_set))
    }
    print(f"split: {len(train_set)} train, {len(val_set)} validation, {len(test_set)} test")

    model = DigitsCNN()
    loader = DataLoader(
        train_set,
        batch_size=args.batch_size,
        shuffle=True,
        generator=gl.Generator().manual_seed(args.seed),
    )
    print(f"training {epochs} epochs:")
    history = train(model, loader, epochs)
    val = evaluate(model, x[idx["val"]], y[idx["val"]])
    test = evaluate(model, x[idx["test"]], y[idx["test"]])
    print(
        f"validation accuracy {val['accuracy']:.4f}; test accuracy {test['accuracy']:.4f}, "
        f"precision {test['precision']:.4f}, recall {test['recall']:.4f}, F1 {test['f1']:.4f}"
    )
    print("confusion matrix (rows: true class, columns: predicted):")
    print(test["confusion"])

    # Debugging look 2: predictions, the mistakes first.
    pred = predict(model, x[idx["test"]])
    wrong = (pred != y[idx["test"]]).nonzero().reshape(-1)[:5].tolist()
    for i in wrong:
        print(f"  test image {i}: predicted {pred[i].item()}, label {y[idx['test']][i].item()}")

    # Debugging look 3: gradients per layer.
    for name, g in gradient_report(model, x[idx["train"]][:256], y[idx["train"]][:256]):
        print(f"  grad norm {name:28s} {g:.3e}")

    # Save and load the trained model; the clone predicts the same.
    folder = Path(tempfile.mkdtemp(prefix="graphlab-digits-"))
    gl.save(model.state_dict(), folder / "digits.params")
    clone = DigitsCNN()
    clone.load_state_dict(gl.load(folder / "digits.params"))
    same = bool((predict(clone, x[idx["test"]]) == pred).all())
    print(f"reloaded model predicts the same: {same}")
    if args.save_weights:
        Path(args.save_weights).parent.mkdir(parents=True, exist_ok=True)
        gl.save(model.state_dict(), args.save_weights)
        print(f"weights written to {args.save_weights}")

    print(f"{folds}-fold cross-validation on the training split:")
    cv = cross_validate(
        x[idx["train"]], y[idx["train"]], folds, max(2, epochs // 4), args.batch_size, args.seed
    )
    print(f"cross-validation accuracy {np.mean(cv):.4f} ± {np.std(cv):.4f}")
    seconds = time.perf_counter() - t0
    print(f"done in {seconds:.1f} s")
    return {
        "history": history,
        "val": val,
        "test": test,
        "cv": cv,
        "same": same,
        "seconds": seconds,
        "model": model,
    }


if __name__ == "__main__":
    main()
