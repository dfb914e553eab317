"""A pre-trained model (example 21): the digits CNN with weights that ship in ``samples/weights``.

``load_pretrained()`` builds the model and loads the weights in one call; nothing is downloaded.
The weights were written by ``python samples/digits_cnn.py --save-weights
samples/weights/digits_cnn.gl``.

Run: ``python samples/pretrained.py`` (classifies a few digits and reports the accuracy on all).
"""

from __future__ import annotations

import sys
from pathlib import Path

import graphlab as gl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_cnn import WEIGHTS, DigitsCNN, load_digits_tensors, predict  # noqa: E402


def load_pretrained(path: str | Path = WEIGHTS, device=None) -> DigitsCNN:
    """The digits CNN with its shipped weights, in eval mode, on ``device``."""
    model = DigitsCNN()
    model.load_state_dict(gl.load(path, map_location="cpu"))
    return model.to(device or "cpu").eval()


def main() -> dict:
    """Classify a few images with the pre-trained model; report accuracy on the whole set."""
    model = load_pretrained()
    x, y = load_digits_tensors()
    pred = predict(model, x)
    for i in range(8):
        print(f"image {i}: predicted {pred[i].item()}, label {y[i].item()}")
    acc = (pred == y).float().mean().item()
    print(f"accuracy on all {len(y)} digits: {acc:.4f}")
    return {"accuracy": acc, "pred": pred}


if __name__ == "__main__":
    main()
