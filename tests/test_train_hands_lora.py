"""The hands LoRA's training script: its evaluation set, its per-count table and its model card."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from helpers.shapes import Shape, render
from helpers.shapes.hands import FINGER_COUNTS, Hand, render_hand
from helpers.training import train_hands_lora as trainer


def test_evaluation_hands_take_each_count_in_turn_and_are_seeded():
    items = trainer.evaluation_hands(4)
    assert [h.fingers for h in items[:10]] == [1, 2, 3, 4, 5] * 2
    assert Counter(h.fingers for h in items) == {n: 4 for n in FINGER_COUNTS}
    assert items == trainer.evaluation_hands(4) != trainer.evaluation_hands(4, seed=2)


def test_count_table_reads_right_and_wrong_pictures():
    items = [Hand(1, "red", "blue"), Hand(2, "red", "blue"), Hand(2, "green", "white"), Hand(5, "black", "yellow")]
    pictures = [render_hand(Hand(1, "red", "blue")), render_hand(Hand(3, "red", "blue")),
                render_hand(Hand(2, "green", "white")),
                render(Shape("circle", "large", "black", "center", "yellow"))]
    table = trainer.count_table(items, pictures)
    assert table["1"] == {"pictures": 1, "hand": 1.0, "colour": 1.0, "fingers": 1.0, "mean counted": 1.0,
                          "counted": {"1": 1}}
    assert table["2"]["fingers"] == 0.5 and table["2"]["mean counted"] == 2.5
    assert table["2"]["counted"] == {"2": 1, "3": 1}
    assert table["5"]["hand"] == 0.0 and math.isnan(table["5"]["mean counted"]) and table["5"]["counted"] == {}
    assert table["all"]["pictures"] == 4 and table["all"]["fingers"] == 0.5 and table["all"]["colour"] == 1.0


def test_model_card_states_how_it_was_made_and_every_score():
    items = trainer.evaluation_hands(1)
    table = trainer.count_table(items, [render_hand(h) for h in items])
    result = {"command": "python -m helpers.training.train_hands_lora",
              "config": {"steps": 1500, "rank": 8, "lr": 1e-3, "batch": 16, "prior_share": 0.5,
                         "prior_pictures": 600, "hands": 280, "seed": 0, "targets": ["to_q", "to_k"]},
              "trainable_numbers": 86016, "base_digest": "0123456789abcdef", "train_seconds": 300.0,
              "measure_seconds": 60.0, "device": "cpu", "torch": "2.x", "threads": 1,
              "weights": "pytorch_lora_weights.safetensors", "weights_kib": 352,
              "sampling": {"steps": 20, "guidance": 5.0, "per_count": 1, "seeds": "0..4, prompts"},
              "scores": {"with LoRA": table, "without LoRA": table}}
    card = trainer.model_card(result)
    assert "python -m helpers.training.train_hands_lora" in card and "86,016 trainable numbers" in card
    assert "300 s of training (0.20 s per step)" in card and "`0123456789abcdef`" in card
    assert card.count("| 3 | 1.00 | 1.00 | 1.00 | 3.00 | 3: 1 |") == 2
    json.dumps(result)  # the record is plain JSON


def test_the_script_refuses_nothing_silently():
    with pytest.raises(SystemExit):
        trainer.main(["--no-such-option"])
