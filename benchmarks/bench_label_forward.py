"""One training step of one-step adversarial training, with the attack's predicted labels from a
separate no-grad forward (before, emulated by passing a separate prediction's labels) or from the
attack's own gradient forward (now, ``advreg.attacks.whitebox._loss_grad``), in one run on the same model
and batch, the two timed alternately (issue 26, item 3).

The SN paper's FGM scheme on its ELU-Net (paper sizes, β = 1, operator SN) and the SGR paper's
FGSM augmentation on the C&W net at the paper's MNIST widths: the attack in eval mode, then the
training loss, backward and the optimizer step, as the methods do (advreg.training.methods). It also
checks that both give the same adversarial batch (bitwise).

    .venv/bin/python benchmarks/bench_label_forward.py --threads 1
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advreg.attacks import whitebox as attacks  # noqa: E402
from advreg.base.timing import seconds_per_call  # noqa: E402
from advreg.nn.models import build_from_spec, place  # noqa: E402
from advreg.nn.modes import eval_mode  # noqa: E402
from advreg.nn.predict import predicted_labels  # noqa: E402

CASES = {
    "sn-fgm (elunet, β=1)": ({"arch": "elunet", "in_channels": 1, "image_size": 28, "widths": [],
                              "spectral_norm": {"beta": 1.0, "mode": "operator"}},
                             lambda m, x, y: attacks.fgm(m, x, 2.0, y=y, clip=None)),
    "sgr-fgsm (cw, paper widths)": ({"arch": "cw", "in_channels": 1, "image_size": 28,
                                     "widths": [32, 32, 64, 64, 200, 200]},
                                    lambda m, x, y: attacks.fgsm(m, x, 32 / 255, y=y)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"batch {a.batch}, {a.threads} thread(s), median of {a.rounds} rounds of {a.steps} steps")
    for name, (spec, attack) in CASES.items():
        torch.manual_seed(0)
        model = place(build_from_spec(spec), "cpu")
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.rand(a.batch, 1, 28, 28)
        y_true = torch.randint(0, 10, (a.batch,))

        def adversarial(separate: bool) -> torch.Tensor:
            with eval_mode(model):
                labels = predicted_labels(model, x) if separate else None
                return attack(model, x, labels).detach()

        def step(separate: bool) -> None:
            x_adv = adversarial(separate)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x_adv), y_true).backward()
            opt.step()

        same = torch.equal(adversarial(True), adversarial(False))
        times = {}
        for _ in range(2):  # interleaved, so drift of the machine hits both alike
            for separate in (True, False):
                t = seconds_per_call(lambda: step(separate), calls=a.steps, rounds=a.rounds, warmup=2)
                times[separate] = min(times.get(separate, t), t)
        print(f"{name:30s} separate forward {1e3 * times[True]:6.1f} ms, own forward "
              f"{1e3 * times[False]:6.1f} ms: {times[True] / times[False]:.3f}× (same batch: {same})")


if __name__ == "__main__":
    main()
