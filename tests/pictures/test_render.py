"""render: arrays in, PNG bytes out, pixel-exact where it matters."""

from __future__ import annotations

import numpy as np
import pytest

from app.pictures import render
from tests.pictures.grid import cells, decode_png


def test_grid_keeps_binary_values_exactly_and_pads_with_grey():
    images = np.random.default_rng(0).integers(0, 2, size=(5, 8, 8)).astype(float)
    content = render.grid_png(images)
    np.testing.assert_array_equal(cells(content, 5, 8, 8), images)
    pixels = decode_png(content)
    assert pixels[0, 0] == 128 and set(np.unique(pixels)) <= {0, 128, 255}


def test_each_scaling_stretches_every_image_to_full_range():
    images = np.stack([np.linspace(-3, -1, 16).reshape(4, 4), np.linspace(10, 50, 16).reshape(4, 4)])
    got = cells(render.grid_png(images, scaling="each"), 2, 4, 4)
    for k in range(2):
        assert got[k].min() == 0.0 and got[k].max() == 1.0
        np.testing.assert_allclose(got[k], (images[k] - images[k].min()) / np.ptp(images[k]), atol=1 / 255)


def test_constant_image_does_not_divide_by_zero():
    got = cells(render.grid_png(np.full((1, 3, 3), 7.0), scaling="each"), 1, 3, 3)
    assert np.all(got == 0.0)


def test_pairs_alternate_data_and_reconstruction():
    data = np.zeros((3, 4, 4))
    recon = np.ones((3, 4, 4))
    got = cells(render.pairs_png(data, recon, pairs_per_row=3), 6, 4, 4, ncols=6)
    assert [g.mean() for g in got] == [0.0, 1.0] * 3


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        render.grid_png(np.zeros((0, 8, 8)))
    with pytest.raises(ValueError):
        render.pairs_png(np.zeros((2, 4, 4)), np.zeros((3, 4, 4)))


def test_curve_series_pairs_train_with_validation_and_skips_timings():
    metrics = [{"epoch": e, "free_energy_train": -e, "free_energy_validation": -e + 0.5, "reconstruction_error": 1 / e,
                "epoch_seconds": 0.1, "learning_rate": 0.1} for e in (1, 2, 3)]
    panels = render.curve_series(metrics)
    assert set(panels) == {"free_energy", "reconstruction_error", "learning_rate"}
    assert panels["free_energy"]["train"] == ([1, 2, 3], [-1.0, -2.0, -3.0])
    assert panels["free_energy"]["validation"] == ([1, 2, 3], [-0.5, -1.5, -2.5])
    assert decode_png(render.curves_png(metrics)).shape[0] > 100
    with pytest.raises(ValueError):
        render.curves_png([{"epoch": 1, "epoch_seconds": 0.2}])


def test_ising_plot_tolerates_infinite_reference():
    grid = np.array([2.0, 2.269185314213022, 2.5])
    points = {4: [render.IsingPoint(2.0, -1.7, 0.01, 0.7, 0.05), render.IsingPoint(2.5, -1.1, 0.01, 0.9, 0.05)]}
    curve = render.IsingCurve(grid, np.array([-1.7, -1.4, -1.1]), np.array([0.5, np.inf, 0.4]), "ref")
    assert decode_png(render.ising_png(points, {4: curve}, curve)).size > 0
