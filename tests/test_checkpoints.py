"""Checkpoints: saved exactly, loaded back with one sentence, refused when they do not fit; the card."""

from __future__ import annotations

import ast
import builtins
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers.core import checkpoints
from helpers.core.checkpoints import (
    load_checkpoint,
    read_info,
    save_checkpoint,
    update_info,
    use_checkpoint,
)

ROOT = Path(__file__).resolve().parent.parent


def tiny_net(seed: int) -> nn.Sequential:
    """A conv, a batch norm with running statistics and a spectrally normalised linear layer."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Flatten(),
                         nn.utils.parametrizations.spectral_norm(nn.Linear(4 * 8 * 8, 2)))


def trained(seed: int = 0) -> nn.Sequential:
    net = tiny_net(seed)
    net(torch.randn(5, 3, 8, 8))  # moves the running statistics and the power-iteration vectors
    return net.eval()


def test_a_loaded_checkpoint_computes_exactly_what_was_saved(tmp_path, capsys):
    net, x = trained(), torch.randn(2, 3, 8, 8)
    history = torch.linspace(1, 0, 7)
    path = save_checkpoint("tiny", {"net": net}, {"steps": 7, "seconds": 1.5},
                           tensors={"loss": history}, folder=tmp_path)
    assert path == tmp_path / "tiny.safetensors"
    fresh = tiny_net(seed=1).eval()
    assert not torch.equal(fresh(x), net(x))
    loaded = load_checkpoint("tiny", {"net": fresh}, folder=tmp_path)
    assert torch.equal(fresh(x), net(x))
    assert torch.equal(loaded["tensors"]["loss"], history)
    info = loaded["info"]
    assert info["steps"] == 7 and info["seconds"] == 1.5 and info["modules"] == ["net"]
    assert info["machine"]["torch_threads"] == torch.get_num_threads()
    sentence = capsys.readouterr().out.strip()
    assert sentence.count("\n") == 0 and sentence.startswith("체크포인트(checkpoint)를 불러왔습니다: ")
    assert str(path) in sentence and "7걸음" in sentence and "2초" in sentence
    assert "from_scratch를 True로" in sentence and "WORKBOOK_FROM_SCRATCH=1" in sentence


def test_another_architecture_is_refused(tmp_path):
    save_checkpoint("tiny", {"net": trained()}, {"steps": 1}, folder=tmp_path)
    wider = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1))
    with pytest.raises(RuntimeError, match="size mismatch|Missing key|Unexpected key"):
        load_checkpoint("tiny", {"net": wider}, folder=tmp_path, quiet=True)
    with pytest.raises(KeyError, match="no module 'other'"):
        load_checkpoint("tiny", {"other": trained()}, folder=tmp_path, quiet=True)


def test_update_info_keeps_the_tensors(tmp_path):
    net = trained()
    save_checkpoint("tiny", {"net": net}, {"steps": 3}, tensors={"loss": torch.ones(3)},
                    folder=tmp_path)
    assert update_info("tiny", {"scores": {"a": "1/8"}}, folder=tmp_path)["steps"] == 3
    assert read_info("tiny", folder=tmp_path)["scores"] == {"a": "1/8"}
    fresh = tiny_net(seed=2).eval()
    loaded = load_checkpoint("tiny", {"net": fresh}, folder=tmp_path, quiet=True)
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(fresh(x), net(x)) and torch.equal(loaded["tensors"]["loss"], torch.ones(3))


def test_use_checkpoint_from_scratch_keeps_what_was_trained_and_saves_only_when_asked(tmp_path,
                                                                                       capsys):
    net, loss = trained(), {"loss": torch.arange(4.0)}
    kept = use_checkpoint("tiny", {"net": net}, from_scratch=True, steps=4, seconds=2.0,
                          tensors=loss, save=False, folder=tmp_path)
    assert kept["path"] is None and kept["tensors"] == loss and kept["info"]["steps"] == 4
    assert not list(tmp_path.iterdir()) and capsys.readouterr().out == ""
    saved = use_checkpoint("tiny", {"net": net}, from_scratch=True, steps=4, seconds=2.0,
                           tensors=loss, save=True, folder=tmp_path)
    assert saved["path"] == tmp_path / "tiny.safetensors" and saved["info"]["seconds"] == 2.0
    assert "체크포인트(checkpoint)를 저장했습니다" in capsys.readouterr().out


def test_use_checkpoint_loads_over_the_live_stretch_and_refuses_another_length(tmp_path, capsys):
    net = trained()
    save_checkpoint("tiny", {"net": net}, {"steps": 100, "seconds": 9.0},
                    tensors={"loss": torch.zeros(100)}, folder=tmp_path)
    live = tiny_net(seed=3).eval()
    got = use_checkpoint("tiny", {"net": live}, from_scratch=False, steps=100, seconds=0.1,
                         tensors={"loss": torch.ones(5)}, folder=tmp_path)
    assert got["tensors"]["loss"].shape == (100,) and got["info"]["seconds"] == 9.0
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(live(x), net(x))
    assert "100걸음" in capsys.readouterr().out
    with pytest.raises(ValueError, match="100걸음을 학습했는데 설정은 300걸음"):
        use_checkpoint("tiny", {"net": live}, from_scratch=False, steps=300, seconds=0.1,
                       folder=tmp_path)
    with pytest.raises(FileNotFoundError, match="from_scratch = True"):
        use_checkpoint("missing", {"net": live}, from_scratch=False, steps=1, seconds=0.1,
                       folder=tmp_path)


def test_a_checkpoint_made_on_other_base_weights_is_refused(tmp_path, capsys):
    """09's LoRA sits on mini-sd: after the bundled model is retrained, the old LoRA must not load."""
    base, other = tiny_net(seed=5), tiny_net(seed=6)
    net = trained()
    use_checkpoint("tiny", {"net": net}, from_scratch=True, steps=4, seconds=1.0, base={"m": base},
                   save=True, folder=tmp_path)
    assert checkpoints.read_info("tiny", tmp_path)["base_weights"] == checkpoints.weights_digest(
        {"m": base})
    live = tiny_net(seed=3).eval()
    use_checkpoint("tiny", {"net": live}, from_scratch=False, steps=4, seconds=0.1,
                   base={"m": base}, folder=tmp_path)
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(live(x), net(x))
    with pytest.raises(ValueError, match="다른 기본 모델"):
        use_checkpoint("tiny", {"net": live}, from_scratch=False, steps=4, seconds=0.1,
                       base={"m": other}, folder=tmp_path)
    assert checkpoints.weights_digest({"m": base}) != checkpoints.weights_digest({"m": other})


def test_names_are_plain_file_names():
    with pytest.raises(ValueError, match="plain file name"):
        checkpoints.checkpoint_path("../x")


# ---- tools/make_checkpoints.py ----------------------------------------------------------------------
def load_tool():
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location("make_checkpoints", ROOT / "tools" / "make_checkpoints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_harvest_cell_prints_the_scores_as_json(capsys):
    tool = load_tool()
    code = tool.harvest_cell({"01_gan": {"pairs": "f'{coverage[0]}/56'", "share": "f'{x:.2f}'"}})
    exec(code, {"coverage": (37,), "x": 0.5})  # noqa: S102
    line = capsys.readouterr().out.strip()
    assert line.startswith(tool.MARK)
    assert json.loads(line[len(tool.MARK):]) == {"01_gan": {"pairs": "37/56", "share": "0.50"}}


@pytest.mark.parametrize("stem", ["01_gan_vae_recap", "03_reverse_diffusion",
                                  "09_editing_and_personalization"])
def test_the_scores_read_names_the_notebook_defines(stem):
    """A renamed variable in a notebook fails here, not after a half-hour make checkpoints."""
    tool = load_tool()
    provenance_spec = importlib.util.spec_from_file_location("provenance", ROOT / "tools" / "provenance.py")
    provenance = importlib.util.module_from_spec(provenance_spec)
    sys.modules["provenance"] = provenance
    provenance_spec.loader.exec_module(provenance)
    tree = provenance.notebook_code(ROOT / "notebooks" / f"{stem}.ipynb")
    defined = {target.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.For))
               for target in ast.walk(node.targets[0] if isinstance(node, ast.Assign) else node.target)
               if isinstance(target, ast.Name)}
    defined |= {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    cell = ast.parse(tool.harvest_cell(tool.SCORES[stem]))
    local = {node.target.id for node in ast.walk(cell) if isinstance(node, ast.comprehension)}
    read = {node.id for node in ast.walk(cell) if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)} - local - set(dir(builtins)) - {"json"}
    assert read and read <= defined, f"{stem} does not define {sorted(read - defined)}"
    names = {name for scores in tool.SCORES.values() for name in scores}
    used = {call.args[0].value for call in ast.walk(tree) if isinstance(call, ast.Call)
            and getattr(call.func, "attr", "") == "use_checkpoint"}
    assert set(tool.SCORES[stem]) == used and used <= names


def test_the_card_lists_each_checkpoint_with_its_time_and_scores(tmp_path):
    tool = load_tool()
    save_checkpoint("01_gan", {"net": trained()}, {"steps": 3000, "seconds": 226.4},
                    folder=tmp_path)
    update_info("01_gan", {"notebook": "01_gan_vae_recap", "command": "make checkpoints (x)",
                           "scores": {"pairs": "37/56"}}, folder=tmp_path)
    text = tool.card(tmp_path)
    row = next(line for line in text.splitlines() if line.startswith("| `01_gan.safetensors`"))
    assert "| 01_gan_vae_recap | net | 3,000 | 226 s |" in row
    assert f"with {torch.get_num_threads()} thread(s)" in row
    assert "**01_gan** (make checkpoints (x)):\n- pairs: 37/56" in text
