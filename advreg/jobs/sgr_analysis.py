"""The SGR paper's analysis experiments, from saved models and adversarial sets to tables and
figures (Sec. 4.2 covariance structure, Sec. 4.3 LRC attack, App. figures 6-8). Each function is
what one pipeline job does."""
from __future__ import annotations

import math

import pandas as pd
import torch

from advreg.attacks.lrc import data_covariance_sampler, data_covariance_sweep, lrc_sweep
from advreg.attacks.trajectories import softmax_along_line
from advreg.base.atomic import atomic_path, save_torch
from advreg.base.device import pick_device
from advreg.data.artifact import head, load_dataset, stand_in_note, test_split, to_float
from advreg.figures import sgr as sgr_figures
from advreg.figures.tables import write_table
from advreg.nn.models import load_for_attacks
from advreg.nn.predict import predicted_labels
from advreg.sgr.lrc_noise import GaussianSampler, LRCSampler, perturb
from advreg.sgr.structure import lrc_matrices, perturbation_structure, shown_matrix


def _adv(path, dev):
    return torch.load(path, map_location=dev, weights_only=True)["whitebox"].float()


def _write_csv(df: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def covariance_structure(dataset_path, adv_sets: dict[str, str], max_test, max_data: int,
                         fraction: float, out_csv, fig2_path, fig5_path, zetas, device="auto",
                         html_path=None, caption: str = "") -> pd.DataFrame:
    """Fig. 2: raw second moments of the clean model's adversarial perturbations (full matrix,
    Eq. 15, and covariance function, Eq. 16) beside the data covariance; decay lengths (CSV, and
    the report's HTML table at ``html_path``). Fig. 5: the synthetic LRC covariance matrices."""
    dev = pick_device(device)
    data = load_dataset(dataset_path, dev, parts=("train", "test"))
    x = to_float(head(data, "test", max_test)[0])
    adv = {name: _adv(p, dev) for name, p in adv_sets.items()}
    x_data = to_float(data["x_train"][:max_data])
    c, h, w = x.shape[1:]
    arrays, table = perturbation_structure(x, adv, x_data, fraction=fraction,
                                           matrix=c * h * w <= 4096)
    _write_csv(table, out_csv)
    if html_path:
        write_table(table, html_path=html_path, caption=caption)
    note = stand_in_note(data["meta"])
    shown = {name: shown_matrix(a, c, h, w) for name, a in arrays.items()}
    sgr_figures.fig2_covariance(arrays, shown, table, fig2_path, c, h, w, note=note)
    sgr_figures.fig5_lrc_matrices(lrc_matrices(c, h, w, zetas), fig5_path, c, h, w, note=note)
    return table


def data_noise_factor(dataset_path, max_data: int, out_path) -> None:
    """The factor A (Σ_data = A Aᵀ, standardized to mean diagonal 1) of the data-covariance noise
    of Sec. 4.3, from the first ``max_data`` training images: one eigendecomposition per dataset
    (3072² in float64 for CIFAR-10), shared by every lrc_attack job as an artifact (issue 30)."""
    data = load_dataset(dataset_path, "cpu", parts=("train",))
    x_data = to_float(data["x_train"][:max_data])
    sampler = data_covariance_sampler(x_data, device="cpu", dtype=torch.float32)
    save_torch(out_path, {"factor": sampler.factor, "shape": (sampler.C, sampler.H, sampler.W),
                          "max_data": int(max_data)})


def lrc_attack(model_path, dataset_path, zetas, epsilons, k, batch_size, seeds, max_test,
               data_noise=None, out_csv=None, device="auto") -> pd.DataFrame:
    """Worst-of-k accuracy under LRC noise over the (ζ, ε) grid, and, given ``data_noise`` (the
    artifact of ``data_noise_factor``), under noise with the data set's own covariance (Sec. 4.3),
    for each of ``seeds`` (each row carries its seed); written to ``out_csv``."""
    dev = pick_device(device)
    x, y, _ = test_split(dataset_path, dev, max_test)
    x = to_float(x)
    model, _ = load_for_attacks(model_path, dev)
    sampler = None
    if data_noise:
        blob = torch.load(data_noise, map_location=dev, weights_only=True)
        sampler = GaussianSampler(blob["factor"].to(dev, x.dtype), *blob["shape"])
    frames = []
    for seed in seeds:
        frames.append(lrc_sweep(model, x, y, zetas, epsilons, k, batch_size, seed))
        if sampler is not None:
            frames.append(data_covariance_sweep(model, x, y, None, epsilons, k, batch_size, seed, sampler))
    df = pd.concat(frames, ignore_index=True)
    if out_csv is not None:
        _write_csv(df, out_csv)
    return df


def lrc_figures(csvs: dict[str, str], dataset_path, sample_model_path, fig_eps: float,
                sample_zetas, out_csv, fig3_acc, fig3_samples, fig4, device="auto",
                sample_model_name: str = "", html_path=None, caption: str = "",
                kinds: dict | None = None) -> pd.DataFrame:
    """Figs. 3 and 4 from every model's LRC sweep (``csvs``: model -> its lrc_attack CSV), one table
    of every (model, noise, ζ, ε) point (CSV, and the report's HTML at ``html_path`` with the column
    ``kinds``), and Fig. 3's samples: two test images under LRC noise at each of ``sample_zetas``
    with the sample model's predictions."""
    dev = pick_device(device)
    df = pd.concat([pd.read_csv(p).assign(model=m) for m, p in csvs.items()], ignore_index=True)
    _write_csv(df, out_csv)
    if html_path:
        write_table(df, html_path=html_path, caption=caption, kinds=kinds)
    x, _, meta = test_split(dataset_path, dev, 2)
    x = to_float(x)
    note = stand_in_note(meta)
    sgr_figures.fig3_accuracy_vs_zeta(df, fig_eps, fig3_acc, note=note)
    sgr_figures.fig4_accuracy_vs_eps(df, fig4, note=note)
    model, _ = load_for_attacks(sample_model_path, dev)
    c, h, w = x.shape[1:]
    g = torch.Generator(device=dev).manual_seed(0)
    noises, perturbed, preds = {}, {}, {}
    for z in sample_zetas:
        noises[z] = LRCSampler(c, h, w, z, device=dev).sample(len(x), generator=g)
        perturbed[z] = perturb(x, noises[z], fig_eps)
        preds[z] = predicted_labels(model, perturbed[z]).tolist()
    sgr_figures.fig3_samples(x, noises, perturbed, fig_eps, preds, fig3_samples, model_name=sample_model_name,
                             note=note)
    return df


def flipped_examples(model, x: torch.Tensor, x_adv: torch.Tensor, n: int) -> tuple[list[int], int]:
    """The first ``n`` indices whose prediction the adversarial example changes (padded with the
    first unchanged ones when fewer exist), and how many changed."""
    changed = (predicted_labels(model, x) != predicted_labels(model, x_adv)).nonzero().flatten().tolist()
    rest = [i for i in range(len(x)) if i not in set(changed)]
    return (changed + rest)[:n], len(changed)


def trajectories(models: dict[str, str], adv_sets: dict[str, str], dataset_path, n_examples: int,
                 steps: int, path, device="auto", pool: int = 200) -> None:
    """Fig. 6: softmax outputs along the line from clean inputs to each model's PGD examples, on
    test images where PGD changes the first model's prediction (the clean model in the paper's
    figure): on images where the attack fails every line is flat and the figure shows nothing."""
    dev = pick_device(device)
    first = next(iter(models))
    adv = {name: _adv(p, dev) for name, p in adv_sets.items()}
    x, _, meta = test_split(dataset_path, dev, min(pool, len(adv[first])))
    x = to_float(x)
    ref, _ = load_for_attacks(models[first], dev)
    idx, n_changed = flipped_examples(ref, x, adv[first][:len(x)], n_examples)
    probs = {}
    for name, mp in models.items():
        model, _ = load_for_attacks(mp, dev)
        probs[name] = softmax_along_line(model, x[idx], adv[name][idx], steps)
    images = ", ".join(str(i) for i in idx)   # "6, 7, 8, 9", not a list's repr
    title = (f"test images {images} (of the first {len(x)}): where PGD changes {first}'s prediction"
             if n_changed >= len(idx) else
             f"test images {images}: PGD changes {first}'s prediction on only {n_changed} of the first {len(x)}")
    sgr_figures.fig6_trajectories(probs, path, n_examples=n_examples, title=title, note=stand_in_note(meta))


def adversarial_samples(model_path, adv_set, dataset_path, n: int, path, title: str, device="auto") -> None:
    """Figs. 7-8: PGD-perturbed samples of one model with its predictions."""
    dev = pick_device(device)
    x, _, meta = test_split(dataset_path, dev, n)
    x = to_float(x)
    model, _ = load_for_attacks(model_path, dev)
    xa = _adv(adv_set, dev)[:n]
    sgr_figures.fig78_samples(x, xa, predicted_labels(model, x), predicted_labels(model, xa), path, title, n=n,
                              note=stand_in_note(meta))


DEFAULT_FRACTION = math.exp(-1)
