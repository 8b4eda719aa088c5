"""Tests of advreg.attacks.strong: the ensemble loop against torchattacks.AutoAttack on a tiny
model, validity of every example it counts as broken, and worst-case-per-image bookkeeping."""
from __future__ import annotations

import pytest
import torch
import torchattacks
from torch import nn

from advreg.attacks import strong as S
from advreg.attacks import strong_kinds

EPS = 0.11   # APGD-CE (10 steps) leaves about half of the tiny model's test images robust
# torchattacks.AutoAttack(version="standard")'s own settings: its attacks' default 10 steps
TORCHATTACKS_STANDARD = [{"kind": "apgd_ce", "steps": 10}, {"kind": "apgd_t", "steps": 10, "targets": 9},
                         {"kind": "fab_t", "steps": 10, "targets": 9}, {"kind": "square", "queries": 5000}]


@pytest.fixture(scope="module")
def tiny(synthetic_mlp):
    return synthetic_mlp


def test_matches_torchattacks_autoattack(tiny):
    model, x, y = tiny
    ours = S.strong_attack(model, x, y, EPS, TORCHATTACKS_STANDARD, seed=3, batch_size=1000)
    theirs = torchattacks.AutoAttack(model, norm="Linf", eps=EPS, version="standard", n_classes=10, seed=3)(x, y)
    with torch.no_grad():
        their_robust = model(theirs).argmax(1) == y
    assert ours["clean_correct"].float().mean() > 0.8       # a model worth attacking
    assert 0 < their_robust.sum() < ours["clean_correct"].sum()  # the attacks do something, not all
    assert torch.equal(ours["robust"], their_robust)
    broken = ~ours["robust"] & ours["clean_correct"]
    assert torch.allclose(ours["x_adv"][broken], theirs[broken])


def test_every_broken_image_is_a_valid_adversarial_example(tiny):
    model, x, y = tiny
    ens = [{"kind": "apgd_ce", "steps": 20}, {"kind": "square", "queries": 200}]
    out = S.strong_attack(model, x, y, EPS, ens, seed=0, batch_size=37)   # batches that do not divide n
    broken = out["clean_correct"] & ~out["robust"]
    assert broken.any()
    d = (out["x_adv"] - x).flatten(1).abs().amax(1)
    assert (d[broken] <= EPS + 1e-5).all() and (d[~broken] == 0).all()
    with torch.no_grad():
        pred = model(out["x_adv"]).argmax(1)
    assert (pred[broken] != y[broken]).all() and (pred[out["robust"]] == y[out["robust"]]).all()
    # bookkeeping: each attack saw exactly the images left robust by the ones before it
    s = out["steps"]
    assert s[0]["attacked"] == int(out["clean_correct"].sum())
    assert s[1]["attacked"] == s[0]["attacked"] - s[0]["broken"]
    assert int(out["robust"].sum()) == s[1]["attacked"] - s[1]["broken"]


def test_ensemble_is_at_least_as_strong_as_each_member(tiny):
    model, x, y = tiny
    ens = [{"kind": "apgd_ce", "steps": 20}, {"kind": "apgd_t", "steps": 20, "targets": 3}]
    both = S.strong_attack(model, x, y, EPS, ens, seed=0)["robust"]
    for member in ens:
        alone = S.strong_attack(model, x, y, EPS, [member], seed=0)["robust"]
        assert both.sum() <= alone.sum()


def test_invalid_examples_are_not_counted():
    """An 'attack' returning points outside the ε-ball or [0, 1] breaks nothing."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    x = torch.full((3, 1, 2, 2), 0.5)
    never = torch.full((3,), -1)        # a label the model never predicts: every point is 'wrong'
    outside = x.clone()
    outside[0, 0, 0, 0] = 1.2           # in the ball of ε = 0.7, outside [0, 1]
    assert S.verified_wrong(model, x, x + EPS / 2, never, EPS, 10).all()
    assert not S.verified_wrong(model, x, x + 2 * EPS, never, EPS, 10).any()
    assert S.verified_wrong(model, x, outside, never, 0.7, 10).tolist() == [False, True, True]


def test_unknown_kind_names_the_value():
    with pytest.raises(ValueError, match="'apgd_x'.*apgd_ce"):
        strong_kinds.build(nn.Linear(2, 2), {"kind": "apgd_x"}, 0.1, 0)


def test_every_strong_kind_is_declared_once_and_read_everywhere():
    """Issue 28: a strong-attack kind is declared once (advreg.attacks.strong_kinds): the schema's enum, the
    config check, the cost model, the labels and the attack builder all read that declaration, and
    no other module names a kind."""
    import re
    from pathlib import Path

    import yaml

    from advreg.workflow import config_check, cost

    repo = Path(__file__).resolve().parents[2]
    raw = yaml.safe_load(config_check.SCHEMA_FILE.read_text())
    entry = raw["properties"]["strong_eval"]["properties"]["attacks"]["items"]["properties"]
    assert "enum" not in entry["kind"]
    loaded = config_check.load_schema()["properties"]["strong_eval"]["properties"]["attacks"]["items"]
    assert loaded["properties"]["kind"]["enum"] == list(strong_kinds.KINDS)
    assert set().union(*(k.params for k in strong_kinds.KINDS.values())) <= set(entry) - {"kind"}
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    for name, kind in strong_kinds.KINDS.items():
        e = {"kind": name, **{p: 2 for p in kind.params}}
        assert strong_kinds.problems("strong_eval.attacks[0]", e) == []
        assert config_check._strong_entry_problems("x", {**e, "bogus": 1})  # a parameter it does not take
        assert cost._ensemble_flops([e], 3.0, 1.0) > 2 * 1.0
        assert strong_kinds.label(e).startswith(name + "(")
        assert hasattr(strong_kinds.build(model, e, 0.1, 0), "forward")
    # no other source file names a kind as a string literal
    quoted = re.compile("|".join(f"[\"']{k}[\"']" for k in strong_kinds.KINDS))
    others = [p for d in ("advreg", "rules", "scripts") for p in (repo / d).rglob("*.*")
              if p.suffix in (".py", ".smk") and p.name != "strong_kinds.py" and quoted.search(p.read_text())]
    assert not others, others
