"""graphlab.metrics against hand-computed values (and scikit-learn when it is installed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphlab as gl
from graphlab import metrics

# Hand example: 3 classes, 8 samples.
#   true: 0 0 0 1 1 2 2 2
#   pred: 0 1 0 1 2 2 2 0
# confusion (rows true, cols pred): [[2,1,0],[0,1,1],[1,0,2]]
# class 0: tp 2, fp 1, fn 1 -> P 2/3, R 2/3, F1 2/3
# class 1: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 1/2
# class 2: tp 2, fp 1, fn 1 -> P 2/3, R 2/3, F1 2/3
TRUE = gl.tensor([0, 0, 0, 1, 1, 2, 2, 2])
PRED = gl.tensor([0, 1, 0, 1, 2, 2, 2, 0])


def test_accuracy_labels_and_scores():
    assert metrics.accuracy(TRUE, PRED) == pytest.approx(5 / 8)
    assert metrics.accuracy(TRUE, PRED, normalize=False) == 5.0
    logits = gl.tensor([[2.0, 0.1, 0.3], [0.0, 1.0, 0.5], [0.2, 0.1, 3.0]])
    assert metrics.accuracy(gl.tensor([0, 1, 1]), logits) == pytest.approx(2 / 3)
    assert isinstance(metrics.accuracy(TRUE, PRED), float)


def test_confusion_matrix_hand_values():
    m = metrics.confusion_matrix(TRUE, PRED)
    assert isinstance(m, gl.Tensor) and m.dtype is gl.int64
    assert m.tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    fixed = metrics.confusion_matrix(TRUE, PRED, labels=[2, 0, 1, 3])
    assert fixed.tolist() == [[2, 1, 0, 0], [0, 2, 1, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    norm = metrics.confusion_matrix(TRUE, PRED, normalize="true")
    np.testing.assert_allclose(norm.numpy()[1], [0, 0.5, 0.5])


def test_multiclass_averages_hand_values():
    assert metrics.precision(TRUE, PRED, average="macro") == pytest.approx((2 / 3 * 2 + 0.5) / 3)
    assert metrics.recall(TRUE, PRED, average="micro") == pytest.approx(5 / 8)
    assert metrics.f1_score(TRUE, PRED, average="micro") == pytest.approx(5 / 8)
    assert metrics.f1_score(TRUE, PRED, average=None) == pytest.approx([2 / 3, 1 / 2, 2 / 3])
    # weighted by support 3, 2, 3
    want = (3 * 2 / 3 + 2 * 0.5 + 3 * 2 / 3) / 8
    assert metrics.f1_score(TRUE, PRED, average="weighted") == pytest.approx(want)
    assert metrics.precision(TRUE, PRED, average="macro", labels=[1]) == pytest.approx(0.5)


def test_binary_and_pos_label():
    t = gl.tensor([1, 1, 1, 0, 0, 0])
    p = gl.tensor([1, 0, 1, 1, 0, 0])
    # positives: tp 2, fp 1, fn 1
    assert metrics.precision(t, p) == pytest.approx(2 / 3)
    assert metrics.recall(t, p) == pytest.approx(2 / 3)
    assert metrics.f1_score(t, p) == pytest.approx(2 / 3)
    # pos_label=0: tp 2, fp 1 (true 1 predicted 0), fn 1
    assert metrics.precision(t, p, pos_label=0) == pytest.approx(2 / 3)
    t2 = gl.tensor([1, 1, 0, 0])
    p2 = gl.tensor([1, 1, 1, 0])
    assert metrics.precision(t2, p2) == pytest.approx(2 / 3)
    assert metrics.recall(t2, p2) == 1.0
    assert metrics.f1_score(t2, p2) == pytest.approx(0.8)


def test_zero_division():
    t = gl.tensor([0, 0, 1])
    p = gl.tensor([0, 0, 0])  # class 1 is never predicted: its precision is 0/0
    with pytest.warns(UserWarning, match="ill-defined"):
        assert metrics.precision(t, p) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.precision(t, p, zero_division=1) == 1.0
        assert np.isnan(metrics.precision(t, p, zero_division=np.nan))
        assert metrics.recall(t, p, zero_division=0) == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="multiclass"):
        metrics.precision(TRUE, PRED)
    with pytest.raises(ValueError, match="pos_label=5"):
        metrics.recall(gl.tensor([0, 1]), gl.tensor([1, 0]), pos_label=5)
    with pytest.raises(ValueError, match="same shape"):
        metrics.f1_score(TRUE, PRED[:3], average="macro")
    with pytest.raises(ValueError, match="average must be one of"):
        metrics.f1_score(TRUE, PRED, average="mean")
    with pytest.raises(ValueError, match="argmax"):
        metrics.f1_score(gl.tensor([0, 1]), gl.rand(2, 2), average="macro")
    with pytest.raises(TypeError, match="y_true must be a graphlab Tensor"):
        metrics.accuracy(3, PRED)
    with pytest.raises(ValueError, match="zero_division"):
        metrics.precision(TRUE, PRED, average="macro", zero_division=2)


def test_top_k_accuracy_hand_values():
    scores = gl.tensor(
        [
            [0.1, 0.5, 0.4],  # ranks 1, 2, 0
            [0.7, 0.2, 0.1],  # ranks 0, 1, 2
            [0.3, 0.3, 0.4],  # ranks 2, then the tie 1 before 0 (higher index first)
            [0.2, 0.5, 0.3],  # ranks 1, 2, 0
        ]
    )
    y = gl.tensor([2, 0, 0, 0])
    assert metrics.top_k_accuracy(y, scores, k=1) == pytest.approx(1 / 4)
    assert metrics.top_k_accuracy(y, scores, k=2) == pytest.approx(2 / 4)
    assert metrics.top_k_accuracy(y, scores, k=2, normalize=False) == 2.0
    with pytest.raises(ValueError, match=r"shape \(N, C\)"):
        metrics.top_k_accuracy(y, gl.rand(3, 3))
    with pytest.raises(ValueError, match="class indices"):
        metrics.top_k_accuracy(gl.tensor([0, 5, 0, 0]), scores)


def test_against_sklearn_on_random_labels():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(40):
            c = int(rng.integers(3, 6))
            n = int(rng.integers(1, 40))
            t, p = rng.integers(0, c, n), rng.integers(0, c, n)
            tt, pp = gl.tensor(t), gl.tensor(p)
            assert metrics.accuracy(tt, pp) == pytest.approx(skm.accuracy_score(t, p))
            np.testing.assert_array_equal(
                metrics.confusion_matrix(tt, pp).numpy(), skm.confusion_matrix(t, p)
            )
            for avg in ("micro", "macro", "weighted", None):
                for zd in (0, 1, "warn"):
                    kw = dict(average=avg, zero_division=zd)
                    for ours, ref in (
                        (metrics.precision, skm.precision_score),
                        (metrics.recall, skm.recall_score),
                        (metrics.f1_score, skm.f1_score),
                    ):
                        np.testing.assert_allclose(ours(tt, pp, **kw), ref(t, p, **kw))
            s = rng.standard_normal((n, c))
            for k in (1, 2):
                ref = skm.top_k_accuracy_score(t, s, k=k, labels=list(range(c)))
                assert metrics.top_k_accuracy(tt, gl.tensor(s), k=k) == pytest.approx(ref)


@pytest.mark.gpu
def test_cuda_inputs():
    assert metrics.accuracy(TRUE.cuda(), PRED.cuda()) == pytest.approx(5 / 8)
    assert metrics.confusion_matrix(TRUE.cuda(), PRED.cuda()).tolist()[0] == [2, 1, 0]
