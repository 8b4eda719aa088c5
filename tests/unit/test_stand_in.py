"""A generated stand-in for a dataset this machine cannot get (issue 27, item 2): the official
archive's layout read by torchvision's own reader, chosen only when the config asks for it and no
local mirror holds the original, and marked as a stand-in in the artifact, every caption's data
clause, every figure, the summary and the claim rows. Without it, a missing archive is an error
that names the archive and where to put it."""
from __future__ import annotations

import copy
import tarfile

import pytest
import yaml
from workflow_utils import REPO

from advreg.claims import register as C
from advreg.data import artifact as D
from advreg.data import sources as DS
from advreg.data import stand_in as S
from advreg.jobs import verdicts as V
from advreg.jobs.data import prepare_dataset
from advreg.jobs.summary import opening, warnings
from advreg.workflow import config_check


def test_archive_has_the_official_layout_and_loads_through_torchvision(tmp_path):
    meta = prepare_dataset("cifar10", tmp_path / "c.pt", tmp_path / "raw", [str(tmp_path / "empty")],
                             "official", 8000, 50, offline=True, log=lambda *_: None,
                             stand_in={"train": 300, "test": 100})
    with tarfile.open(tmp_path / "raw" / S.CIFAR_ARCHIVE) as tar:
        names = set(tar.getnames())
    assert names == {f"{S.CIFAR_FOLDER}/{f}" for f in S.CIFAR_TRAIN + S.CIFAR_TEST + ["batches.meta"]}
    art = D.load_dataset(tmp_path / "c.pt")
    assert art["x_train"].shape == (250, 3, 32, 32) and str(art["x_train"].dtype) == "torch.uint8"
    assert art["x_val"].shape[0] == 50 and art["x_test"].shape == (100, 3, 32, 32)
    assert set(art["y_train"].tolist()) == set(range(10))
    # marked: its own file name and checksum, never the original's, and the label in every caption
    assert meta["stand_in"] is True and DS.DATASETS["cifar10"].files["archive"][0] not in meta["files"]
    assert list(meta["files"]) == [S.CIFAR_ARCHIVE]
    assert DS.DATASETS["cifar10"].files["archive"][1] not in meta["files"].values()
    assert D.evaluated_on(meta, 100).startswith(S.STAND_IN_LABEL)
    assert D.stand_in_note(meta).startswith(S.STAND_IN_LABEL) and D.stand_in_note({"dataset": "mnist"}) == ""


def test_archive_is_the_same_bytes_every_time(tmp_path):
    a, md5s = S.write_cifar_archive(tmp_path / "a", 50, 10)
    b, _ = S.write_cifar_archive(tmp_path / "b", 50, 10)
    assert S.archive_md5(a) == S.archive_md5(b) and len(md5s) == 7


def test_stand_in_only_when_asked_and_the_mirror_lacks_the_original(tmp_path):
    mirror = tmp_path / "mirror"
    assert DS.stand_in_needed("cifar10", [str(mirror)], True, ["cifar10"])
    assert not DS.stand_in_needed("cifar10", [str(mirror)], True, [])          # not asked: never
    assert not DS.stand_in_needed("mnist", [str(mirror)], True, ["cifar10"])
    (mirror / "cifar10").mkdir(parents=True)
    (mirror / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"x")
    assert not DS.stand_in_needed("cifar10", [str(mirror)], True, ["cifar10"])  # the original is there


def test_missing_archive_without_stand_in_names_it_and_where_to_put_it(tmp_path):
    with pytest.raises(D.DataError) as e:
        prepare_dataset("cifar10", tmp_path / "c.pt", tmp_path / "raw", [str(tmp_path / "mirror")],
                          "official", 8000, 50, offline=True, log=lambda *_: None)
    msg = str(e.value)
    assert "cifar10/cifar-10-python.tar.gz" in msg and "c58f30108f718f92721af3b95e74349a" in msg
    assert f"put the original file at {tmp_path / 'mirror' / 'cifar10' / 'cifar-10-python.tar.gz'}" in msg
    assert not (tmp_path / "c.pt").exists()


def _config(**data) -> dict:
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["data"].update(data)
    return cfg


def test_config_allows_a_stand_in_only_offline_from_local_mirrors():
    cfg = _config(stand_in={"datasets": ["cifar10"], "train": 6000, "test": 200}, mirror=["../shared/data"])
    problems = config_check.config_problems(cfg)          # not offline: a download might supply the original
    assert any("data.stand_in.datasets: ['cifar10'] needs data.offline: true" in p for p in problems)
    cfg["data"]["offline"] = True
    assert not [p for p in config_check.config_problems(cfg) if "stand_in" in p]
    cfg["data"]["stand_in"]["train"] = 100          # not more than the validation images
    assert any("data.stand_in.train=100 must exceed data.val=5000" in p for p in config_check.config_problems(cfg))
    bad = copy.deepcopy(cfg)
    bad["data"]["stand_in"]["datasets"] = ["mnist"]  # stand-ins exist for CIFAR-10 only
    problems = config_check.schema_problems(bad, config_check.load_schema())
    assert len(problems) == 1 and "data.stand_in.datasets" in problems[0] and "mnist" in problems[0]


def test_claim_rows_of_a_stand_in_dataset_are_not_tested(tmp_path):
    reg = C.load_register()
    entry = next(e for e in reg["claims"] if e["id"] == "sgr-4.4-pgd-tradeoff")   # a CIFAR-10 claim
    rows, judged = V.claim_rows(entry, None, ["cifar10"], [], reg["regimes"], stand_ins=["cifar10"])
    assert [r["verdict"] for r in rows] == [C.NOT_TESTED_STAND_IN] == ["not tested (stand-in data)"]
    assert "synthetic stand-in" in rows[0]["verdict_in_regime"] and judged == []


def test_summary_opens_with_the_stand_in_warning(tmp_path):
    reg = C.load_register()
    entry = next(e for e in reg["claims"] if e["id"] == "sgr-4.4-pgd-tradeoff")
    rows, _ = V.claim_rows(entry, None, ["cifar10"], [], reg["regimes"], stand_ins=["cifar10"])
    V.claim_lines(V.claims_table(rows), {**reg, "claims": [entry]}).to_csv(tmp_path / "claims.csv", index=False)
    (tmp_path / "regime.md").write_text("- a line\n")
    assert warnings(["cifar10"])[0].startswith(f"**{S.STAND_IN_LABEL}: cifar10.**")
    assert warnings() == []
    assert opening(tmp_path / "claims.csv")[0].startswith("**Verdicts in full**")
