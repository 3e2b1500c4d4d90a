"""Unseen test poses from the ControlNet's saved training configuration; its evaluation and card."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers.control.pose_control import (
    EVAL_SEED,
    controlnet_training,
    people_from_seed,
    unseen_people,
)
from helpers.core.config import BUNDLED_CONTROLNET_DIR, BUNDLED_MODEL_DIR


def _record(folder, people: int, seed: int):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "training.json").write_text(json.dumps({"config": {"people": people, "seed": seed}}))
    return folder


def test_the_bundled_controlnets_training_configuration_is_read_beside_it():
    saved = json.loads((BUNDLED_CONTROLNET_DIR / "training.json").read_text())["config"]
    assert controlnet_training() == saved
    # notebook 08's call: the same people as with the saved numbers given by hand
    assert unseen_people(4) == unseen_people(4, saved["people"], saved["seed"])


def test_unseen_people_follow_a_retrained_controlnets_numbers(tmp_path):
    # A ControlNet trained on 20 people drawn from the evaluation's own seed: the first 20 people
    # that seed draws are its training people, so the unseen ones must come after them.
    retrained = _record(tmp_path / "cn", people=20, seed=EVAL_SEED)
    got = unseen_people(3, controlnet=retrained)
    assert got == people_from_seed(23, EVAL_SEED)[20:]
    assert got != unseen_people(3)  # the bundled ControlNet's unseen people start at the first draw
    assert unseen_people(3) == people_from_seed(3, EVAL_SEED)


def test_the_training_script_draws_the_people_unseen_people_leaves_out():
    from helpers.training.train_controlnet import PoseDataset

    data = PoseDataset(people=6, size=32, seed=3, empty_prob=0.1, full_prob=0.6)
    assert data.people == people_from_seed(6, 3)


def test_a_missing_training_record_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_controlnet"):
        unseen_people(2, controlnet=tmp_path)


def test_card_is_written_from_the_records():
    from helpers.training.controlnet_card import render_card

    card = (BUNDLED_CONTROLNET_DIR / "README.md").read_text()
    assert card == render_card(BUNDLED_CONTROLNET_DIR), (
        "the card is out of step with helpers/training/controlnet_card.py: rewrite it with "
        "helpers.training.controlnet_card.write_card(BUNDLED_CONTROLNET_DIR)")
    assert "python -m helpers.training.evaluate_controlnet --write-card" in card


def test_a_small_evaluation_writes_its_records_and_card(tmp_path, capsys):
    from helpers.training.evaluate_controlnet import main

    folder = tmp_path / "cn"
    shutil.copytree(BUNDLED_CONTROLNET_DIR, folder)
    result = main(["--base", str(BUNDLED_MODEL_DIR), "--controlnet", str(folder), "--n", "2",
                   "--sweep-n", "1", "--write-card"])
    assert result["n"] == 2 and result["eval_seed"] == EVAL_SEED
    assert [row["n"] for row in result["sweep"]] == [1] * 6
    assert 0.0 <= result["with"]["pose_iou"] <= 1.0
    assert json.loads((folder / "evaluation.json").read_text())["n"] == 2
    assert "2 random poses **not in the training set**" in (folder / "README.md").read_text()
    assert "wrote" in capsys.readouterr().out
