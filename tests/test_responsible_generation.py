"""Helpers of 10_responsible_generation: edits, detector, spectrum, Fréchet distance, watermark, safety."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.responsible import deepfake_detector, frechet, image_edits, spectrum, watermark
from helpers.shapes import Shape, render


def tiny_safety_checker(threshold: float = 1.0):
    """Return a random-weight (StableDiffusionSafetyChecker, CLIPImageProcessor) at 32 px.

    Every concept embedding is the all-ones vector (diffusers' initial value) with threshold
    ``threshold``: 1.0 flags nothing (a cosine is never above 1), -1.0 flags every picture.
    """
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    torch.manual_seed(0)
    config = CLIPConfig(
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                       "num_hidden_layers": 2, "patch_size": 8, "image_size": 32},
        text_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                     "num_hidden_layers": 2, "vocab_size": 99},
        projection_dim=16,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        checker.concept_embeds.fill_(1.0)
        checker.special_care_embeds.fill_(1.0)
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(max(threshold, 1.0))
    extractor = CLIPImageProcessor(size={"shortest_edge": 32},
                                   crop_size={"height": 32, "width": 32})
    return checker, extractor


def _pictures(n: int = 4, size: int = 64) -> list[Image.Image]:
    colours = ["red", "blue", "yellow", "green", "purple", "orange"]
    return [render(Shape("circle", "large", colours[i % 6], "center", "white"), size=size)
            for i in range(n)]


# --- edits -------------------------------------------------------------------------------------


def test_edits_keep_size_and_change_pixels():
    picture = _pictures(1)[0]
    for name, edit in image_edits.standard_edits().items():
        edited = edit(picture)
        assert edited.size == picture.size and edited.mode == "RGB", name
        change = np.abs(np.asarray(edited, float) - np.asarray(picture, float)).mean()
        assert (change == 0) == (name == "none"), (name, change)
    worse = [np.abs(np.asarray(image_edits.jpeg(picture, q), float)
                    - np.asarray(picture, float)).mean() for q in (90, 30)]
    assert worse[0] < worse[1]  # lower quality, larger change
    assert image_edits.center_crop(picture, 0.5).size == (32, 32)
    assert image_edits.center_crop(picture, 0.5, resize_back=True).size == (64, 64)


def test_edits_reject_bad_arguments():
    picture = _pictures(1)[0]
    with pytest.raises(ValueError, match="quality"):
        image_edits.jpeg(picture, 100)
    with pytest.raises(ValueError, match="scale"):
        image_edits.resize_round_trip(picture, 0)
    with pytest.raises(ValueError, match="sigma"):
        image_edits.add_noise(picture, -1)
    with pytest.raises(ValueError, match="PIL"):
        image_edits.jpeg(np.zeros((8, 8, 3)), 90)


# --- detector ----------------------------------------------------------------------------------


def _textured(images: list[Image.Image], seed: int) -> list[Image.Image]:
    """The same pictures with fine texture added: a stand-in for a generator's fingerprint."""
    return [image_edits.add_noise(im, 12.0, seed=seed + i) for i, im in enumerate(images)]


def test_detector_learns_texture_on_a_tiny_set_and_reports_it():
    import random

    from helpers.shapes import random_shape

    rng = random.Random(0)
    clean = [render(random_shape(rng), size=32) for _ in range(48)]
    real, fake = clean[:24], _textured(clean[24:], seed=0)
    model, losses = deepfake_detector.train_detector(real[:16], fake[:16], steps=60, batch=16)
    assert not model.training and len(losses) == 60
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    scores = deepfake_detector.detector_scores(model, real[16:] + fake[16:])
    labels = [0] * 8 + [1] * 8
    matrix = deepfake_detector.confusion_matrix(labels, (scores > 0.5).astype(int))
    assert matrix.sum() == 16 and matrix.trace() >= 14  # held-out pictures, nearly all right
    saliency = deepfake_detector.saliency_map(model, fake[16:18])
    assert saliency.shape == (2, 32, 32) and saliency.max() > 0


def test_detector_is_reproducible_and_leaves_global_rng_alone():
    pictures = _pictures(4, size=32)
    state = torch.random.get_rng_state()
    a, _ = deepfake_detector.train_detector(pictures[:2], pictures[2:], steps=3, batch=2, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    b, _ = deepfake_detector.train_detector(pictures[:2], pictures[2:], steps=3, batch=2, seed=5)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_confusion_matrix_counts_and_checks():
    m = deepfake_detector.confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0])
    assert m.tolist() == [[1, 1], [1, 2]]
    with pytest.raises(ValueError):
        deepfake_detector.confusion_matrix([0, 2], [0, 1])
    with pytest.raises(ValueError, match="share one size"):
        deepfake_detector.images_to_tensor(_pictures(1, 32) + _pictures(1, 64))
    with pytest.raises(ValueError, match="both kinds"):
        deepfake_detector.train_detector([], _pictures(1))


# --- spectrum ----------------------------------------------------------------------------------


def test_spectrum_puts_fine_stripes_at_high_frequency():
    x = np.arange(32)
    coarse = Image.fromarray(((np.sin(2 * np.pi * 2 * x / 32) + 1) * 127).astype(np.uint8)[None]
                             .repeat(32, 0)).convert("RGB")
    fine = Image.fromarray(((np.sin(2 * np.pi * 12 * x / 32) + 1) * 127).astype(np.uint8)[None]
                           .repeat(32, 0)).convert("RGB")
    freqs, of_coarse = spectrum.radial_profile(spectrum.log_spectrum([coarse]))
    _, of_fine = spectrum.radial_profile(spectrum.log_spectrum([fine]))
    assert freqs.tolist() == list(range(17))  # 0 up to half the side
    assert of_coarse[2] > of_fine[2] and of_fine[12] > of_coarse[12]


# --- Fréchet distance --------------------------------------------------------------------------


def test_frechet_distance_of_known_gaussians():
    # 1-D: (m1 - m2)² + (s1 - s2)²
    assert frechet.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)
    # diagonal covariances: the 1-D formula summed over dimensions
    d = frechet.frechet_distance([0, 0], np.diag([1.0, 4.0]), [1, 2], np.diag([9.0, 1.0]))
    assert d == pytest.approx(1 + 4 + (1 - 3) ** 2 + (2 - 1) ** 2)
    # a rotation of both Gaussians changes nothing; equal Gaussians are at distance 0
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    cov1, cov2 = a @ a.T, b @ b.T
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    mu1, mu2 = rng.normal(size=3), rng.normal(size=3)
    d = frechet.frechet_distance(mu1, cov1, mu2, cov2)
    assert frechet.frechet_distance(q @ mu1, q @ cov1 @ q.T, q @ mu2, q @ cov2 @ q.T) == pytest.approx(d)
    assert frechet.frechet_distance(mu2, cov2, mu1, cov1) == pytest.approx(d)
    assert frechet.frechet_distance(mu1, cov1, mu1, cov1) == pytest.approx(0, abs=1e-9)


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances():
    # cov1 = Q diag(l) Q^T, cov2 = Q diag(m) Q^T: Tr((c1^½ c2 c1^½)^½) = sum sqrt(l m)
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    lam, mu = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = np.sum(lam) + np.sum(mu) - 2 * np.sum(np.sqrt(lam * mu))
    got = frechet.frechet_distance(np.zeros(5), q @ np.diag(lam) @ q.T, np.zeros(5), q @ np.diag(mu) @ q.T)
    assert got == pytest.approx(expected)
    root = frechet.sqrtm_psd(q @ np.diag(lam) @ q.T)
    assert np.allclose(root @ root, q @ np.diag(lam) @ q.T)


def test_feature_distance_estimates_from_samples():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, size=(4000, 2))
    y = rng.normal([3, 0], [2, 1], size=(4000, 2))
    assert frechet.feature_distance(x, y) == pytest.approx(9 + 1, rel=0.05)
    with pytest.raises(ValueError, match="n >= 2"):
        frechet.gaussian_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="do not match"):
        frechet.frechet_distance([0, 0], np.eye(2), [0], [[1.0]])


def test_vae_features_shape_with_a_tiny_vae(tiny_pipeline_dir):
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(tiny_pipeline_dir / "vae")
    features = frechet.vae_features(vae, _pictures(3), pool=2)
    assert features.shape == (3, 4 * 2 * 2) and np.isfinite(features).all()


# --- watermark ---------------------------------------------------------------------------------


def _smooth_texture(seed: int = 0) -> Image.Image:
    """A 256 px picture with smooth colour variation everywhere, more like a photo than a render."""
    field = np.random.default_rng(seed).normal(size=(16, 16, 3))
    field = (field - field.min()) / np.ptp(field) * 255
    return Image.fromarray(field.astype(np.uint8)).resize((256, 256), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("method", watermark.METHODS)
def test_watermark_round_trip(method):
    flat = watermark.enlarge(_pictures(1)[0])
    assert flat.size == (256, 256)
    for picture in (_smooth_texture(), flat):
        marked = watermark.embed_watermark(picture, method=method)
        change = np.abs(np.asarray(marked, float) - np.asarray(picture, float))
        assert marked.size == picture.size and 0 < change.mean() < 3  # invisible: a few levels
        read = watermark.read_watermark(marked, method=method)
        assert len(read) == 48
        unmarked = watermark.bit_accuracy(watermark.read_watermark(picture, method=method))
        assert unmarked < watermark.detection_threshold() / 48
        if method == "dwtDctSvd":
            assert watermark.bit_accuracy(read) == 1.0
        elif picture is not flat:  # dwtDct reads most bits back only from textured pictures
            assert watermark.bit_accuracy(read) >= 0.75


def test_watermark_svd_survives_mild_jpeg_and_reports_small_pictures():
    picture = watermark.enlarge(_pictures(2)[1])
    marked = watermark.embed_watermark(picture, bits=[1, 0] * 16)
    read = watermark.read_watermark(image_edits.jpeg(marked, 90), n_bits=32)
    assert watermark.bit_accuracy(read, [1, 0] * 16) >= 0.9
    with pytest.raises(ValueError, match="256x256"):
        watermark.embed_watermark(_pictures(1)[0])
    with pytest.raises(ValueError, match="method"):
        watermark.read_watermark(picture, method="rivaGan")
    with pytest.raises(ValueError, match="0s and 1s"):
        watermark.embed_watermark(picture, bits=[2])


def test_detection_threshold_is_a_binomial_tail():
    from math import comb

    k = watermark.detection_threshold(48, 1e-6)
    tail = sum(comb(48, j) for j in range(k, 49)) / 2**48
    assert tail <= 1e-6 < tail + comb(48, k - 1) / 2**48
    assert watermark.detection_threshold(10, 0.5) == 6


# --- safety checker ----------------------------------------------------------------------------


def test_safety_checker_cost_is_clip_vit_l14():
    from helpers.responsible.safety import safety_checker_cost

    cost = safety_checker_cost()
    assert 3.0e8 < cost["parameters"] < 3.1e8  # CLIP ViT-L/14 image tower + projection
    assert cost["concepts"] == 17 and cost["special_care"] == 3
    assert cost["float16_mib"] == pytest.approx(cost["parameters"] * 2 / 2**20)


@pytest.mark.parametrize(("threshold", "flagged"), [(1.0, False), (-1.0, True)])
def test_run_safety_checker_blacks_out_flagged_pictures(threshold, flagged):
    from helpers.responsible.safety import run_safety_checker

    checker, extractor = tiny_safety_checker(threshold)
    pictures = _pictures(2)
    out, flags, seconds = run_safety_checker(checker, extractor, pictures)
    assert flags == [flagged, flagged] and seconds > 0
    for before, after in zip(pictures, out, strict=True):
        assert after.size == before.size
        if flagged:
            assert np.asarray(after).max() == 0  # the black picture a pipeline returns
        else:
            assert np.array_equal(np.asarray(after), np.asarray(before))


# --- exercise checkers -------------------------------------------------------------------------


def test_checkers_of_notebook_10(capsys):
    import io
    from math import comb

    from helpers import checks

    def my_jpeg(image, quality):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        return Image.open(buffer).convert("RGB")

    def threshold(n_bits, false_alarm):
        k = n_bits + 1
        while k > 0 and sum(comb(n_bits, j) for j in range(k - 1, n_bits + 1)) / 2**n_bits <= false_alarm:
            k -= 1
        return k

    assert checks.check_jpeg_edit(my_jpeg)
    assert not checks.check_jpeg_edit(lambda image, quality: image)
    assert "JPEG" in capsys.readouterr().out
    assert checks.check_frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 - s2) ** 2)
    assert not checks.check_frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 ** 2 - s2 ** 2) ** 2)
    assert "표준편차" in capsys.readouterr().out
    assert checks.check_detection_threshold(threshold)
    assert not checks.check_detection_threshold(lambda n, p: threshold(n, p) - 1)
    assert "하나 모자랍니다" in capsys.readouterr().out
    assert not checks.check_detection_threshold(None)
