"""Shared fixtures: synthetic digit-like images (no mirror needed) for the tests of methods, training
and attacks, and real MNIST digits from the offline mirror for the tests about real data and the
whole workflow.

Without the mirror, a test that needs it is skipped with the reason in pytest's summary (`-rs`);
with ADVREG_REQUIRE_MIRROR=1 (set by `.ci/run`) it fails instead, naming the missing mirror.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from pass_counting import counting_env

REPO = Path(__file__).resolve().parents[1]
# The data mirror: ADVREG_DATA_MIRROR, else ../shared/data beside the checkout.
MIRROR = Path(os.environ.get("ADVREG_DATA_MIRROR", REPO.parent / "shared" / "data"))
REQUIRE_MIRROR = os.environ.get("ADVREG_REQUIRE_MIRROR") == "1"


def need_mirror(what: str) -> None:
    """A test that needs the real files: skip without them, or fail where the mirror is required."""
    msg = (f"{what} not in the data mirror {MIRROR} (set ADVREG_DATA_MIRROR, or put the mirror at "
           f"../shared/data beside the checkout)")
    if REQUIRE_MIRROR:
        pytest.fail(f"ADVREG_REQUIRE_MIRROR=1: {msg}", pytrace=False)
    pytest.skip(msg)


def write_digits_artifact(path: Path, digits, n_train: int, n_total: int, n_val: int = 100) -> Path:
    """The first ``n_total`` real digits as a dataset artifact: ``n_train`` train, the next
    ``n_val`` validate, the rest test."""
    x, y = digits
    x8 = (x[:n_total] * 255).round().to(torch.uint8)
    v = n_train + n_val
    torch.save({"x_train": x8[:n_train], "y_train": y[:n_train], "x_val": x8[n_train:v], "y_val": y[n_train:v],
                "x_test": x8[v:], "y_test": y[v:n_total],
                "meta": {"dataset": "mnist", "split": "test_file", "split_description": "test",
                         "counts": {"train": n_train, "val": n_val, "test": n_total - v}}}, path)
    return path


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="session")
def mnist_test_digits():
    """The 10,000 official MNIST test digits as (x float32 in [0,1] of shape (N,1,28,28), y int64)."""
    img = MIRROR / "mnist" / "t10k-images-idx3-ubyte.gz"
    lab = MIRROR / "mnist" / "t10k-labels-idx1-ubyte.gz"
    if not (img.exists() and lab.exists()):
        need_mirror("MNIST test files")
    x = torch.from_numpy(_read_idx(img).copy()).float().div_(255).unsqueeze(1)
    y = torch.from_numpy(_read_idx(lab).copy()).long()
    return x, y


@pytest.fixture(scope="session")
def synthetic_digits():
    return make_synthetic_digits()


def make_synthetic_digits():
    """6,000 digit-like 1×28×28 images in 10 classes, made here (no mirror): each class a smooth
    random stroke pattern (a 7×7 template upsampled), each image that pattern shifted by up to
    ±3 pixels, with random contrast and strong pixel noise. A small CNN learns it to ≈99 % in two
    epochs on 2,000 images, like MNIST, and FGSM/PGD at ε = 0.1 take it below 25 %, so tests of training and attacks see real
    behaviour. Same (x float32 in [0, 1], y int64) layout as ``mnist_test_digits``."""
    g = torch.Generator().manual_seed(0)
    n = 6000
    coarse = (torch.rand(10, 1, 7, 7, generator=g) > 0.6).float()
    templates = torch.nn.functional.interpolate(coarse, size=(28, 28), mode="bilinear", align_corners=False)
    y = torch.randint(0, 10, (n,), generator=g)
    x = templates[y]
    shifts = torch.randint(-3, 4, (n, 2), generator=g)
    x = torch.stack([torch.roll(img, (int(a), int(b)), dims=(1, 2)) for img, (a, b) in zip(x, shifts)])
    contrast = 0.6 + 0.4 * torch.rand(n, 1, 1, 1, generator=g)
    x = (contrast * x + 0.6 * torch.rand(x.shape, generator=g) - 0.1).clamp(0, 1)
    return x, y


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mnist_test_digits):
    """One completed run of the tiny preset in a temporary copy of the workflow, through
    Snakemake's API. Tests only read it or dry-run against it (a test that edits a file there
    restores it)."""
    from workflow_utils import copy_workflow, planned_jobs, run_api, write_config

    wd = copy_workflow(tmp_path_factory.mktemp("tiny"))
    over = write_config(wd, {"data": {"mirror": str(MIRROR)}})
    configs = [wd / "presets" / "tiny.yaml", over]
    run_api(wd, configs, cores=2)
    assert planned_jobs(wd, configs) == []
    return wd, configs


@pytest.fixture(scope="session")
def synthetic_mlp():
    """A small MLP trained on synthetic 10-class 1×8×8 images (class templates plus noise), and
    100 held-out images: a model worth attacking, no data mirror needed."""
    g = torch.Generator().manual_seed(0)
    templates = torch.rand(10, 1, 8, 8, generator=g)
    y = torch.arange(400) % 10
    x = (0.6 * templates[y] + 0.4 * torch.rand(400, 1, 8, 8, generator=g)).clamp(0, 1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[:300]), y[:300]).backward()
        opt.step()
    return model.eval(), x[300:], y[300:]


@pytest.fixture
def drawn(monkeypatch):
    """Every matplotlib figure saved during the test, in order (the Figure objects, after drawing),
    so a figure test can check what was plotted, not only that a PNG exists. After the test, every
    figure it drew is checked for overlapping tick labels (issue 29: no figure has them)."""
    import matplotlib.figure
    figs = []
    save = matplotlib.figure.Figure.savefig

    def keep(self, *a, **kw):
        if self not in figs:
            figs.append(self)
        return save(self, *a, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    yield figs
    for fig in figs:
        clashes = tick_label_overlaps(fig)
        assert not clashes, f"overlapping tick labels: {clashes}"


def laid_out(fig):
    """The renderer of ``fig`` laid out again (a saved figure's canvas is closed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def boxes_overlap(a, b, slack: float = 0.5) -> bool:
    """Two display-space boxes intersect by more than ``slack`` pixels each way."""
    return a.x0 < b.x1 - slack and b.x0 < a.x1 - slack and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack


def tick_label_overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of visible tick labels of one axis of one panel whose text boxes intersect."""
    renderer = laid_out(fig)
    out = []
    for ax in fig.axes:
        if not ax.axison:
            continue
        for labels, (lo, hi), coord in ((ax.get_xticklabels(), sorted(ax.get_xlim()), 0),
                                        (ax.get_yticklabels(), sorted(ax.get_ylim()), 1)):
            shown = [t for t in labels if t.get_visible() and t.get_text()
                     and lo - 1e-9 <= t.get_position()[coord] <= hi + 1e-9]
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in shown]
            for i, (ta, a) in enumerate(boxes):
                for tb, b in boxes[i + 1:]:
                    if boxes_overlap(a, b):
                        out.append((ta, tb))
    return out


# The workflow tests' runs count what their jobs do (issue 42, item 6): every Snakemake job started
# in this session counts the images it passes through its model (tests/pass_counting.py), so the
# session's one tiny run (``tiny_run``) also serves tests/workflow/test_pass_counts.py, without a
# run of its own. Autouse and session-scoped: set before ``tiny_run`` starts its jobs (here, not in
# a tests/workflow/conftest.py, which would shadow this module for ``from conftest import``).
@pytest.fixture(scope="session", autouse=True)
def pass_counts(tmp_path_factory):
    """The folder the jobs of this session's runs write their pass counts to."""
    folder = tmp_path_factory.mktemp("pass_counts")
    env = counting_env(folder)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield folder
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
