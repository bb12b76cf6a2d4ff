"""Arrays in, PNG bytes out. No database, no HTTP: the router gathers the arrays, this draws them.

Grids of small images use Pillow (exact pixels, nearest-neighbour upscaling so an 8x8 digit stays
crisp); plots use matplotlib's Agg backend (no display needed, safe in server threads when each
call owns its Figure, which is why ``pyplot`` is never used here).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

Scaling = Literal["none", "each", "global"]

# metric keys that describe the run rather than the model; left out of learning curves
_NOT_CURVES = {"epoch", "epochs", "epoch_seconds", "metrics_seconds"}


def _scale(images: np.ndarray, scaling: Scaling) -> np.ndarray:
    """Map values to [0, 1]: as they are (clipped), per image min-max, or min-max over all."""
    x = images.astype(np.float64, copy=True)
    if scaling == "none":
        return np.clip(x, 0.0, 1.0)
    axes = (1, 2) if scaling == "each" else None
    lo = np.nanmin(x, axis=axes, keepdims=True)
    span = np.nanmax(x, axis=axes, keepdims=True) - lo
    return np.clip((x - lo) / np.where(span > 0, span, 1.0), 0.0, 1.0)


def grid_png(images: np.ndarray, *, scaling: Scaling = "none", ncols: int | None = None,
             cell: int = 56, pad: int = 2) -> bytes:
    """``(n, h, w)`` images as one grayscale PNG grid, each upscaled to about ``cell`` pixels.

    ``scaling``: "none" for values already in [0, 1] (binary samples, probabilities), "each" to
    normalise every image on its own (filters), "global" for one min-max over all (Gaussian data).
    """
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"grid_png needs (n, h, w) images with n >= 1, got shape {images.shape}")
    n, h, w = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    zoom = max(1, round(cell / max(h, w)))
    ch, cw = h * zoom, w * zoom
    canvas = np.full((nrows * (ch + pad) + pad, ncols * (cw + pad) + pad), 128, dtype=np.uint8)
    pixels = np.rint(_scale(images, scaling) * 255).astype(np.uint8)
    for i in range(n):
        r, c = divmod(i, ncols)
        big = np.kron(pixels[i], np.ones((zoom, zoom), dtype=np.uint8))
        y, x = pad + r * (ch + pad), pad + c * (cw + pad)
        canvas[y:y + ch, x:x + cw] = big
    return _pil_png(Image.fromarray(canvas, mode="L"))


def pairs_png(data: np.ndarray, recon: np.ndarray, *, scaling: Scaling = "none", pairs_per_row: int = 4) -> bytes:
    """Each data image directly left of its reconstruction: columns alternate data, reconstruction."""
    if data.shape != recon.shape:
        raise ValueError(f"data {data.shape} and reconstructions {recon.shape} differ in shape")
    both = np.empty((2 * data.shape[0], *data.shape[1:]), dtype=np.float64)
    both[0::2], both[1::2] = data, recon
    if scaling != "none":  # one scale for a pair's two halves, so they stay comparable
        both = _scale(both, "global")
    return grid_png(both, scaling="none", ncols=2 * min(pairs_per_row, data.shape[0]))


def _pil_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def curve_series(metrics: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, tuple[list[int], list[float]]]]:
    """Per-epoch metrics -> {panel: {label: (epochs, values)}}; ``x_train`` and ``x_validation``
    share the panel ``x``. Non-numeric values and run timings are left out."""
    panels: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    for row in metrics:
        epoch = row.get("epoch")
        for key, value in row.items():
            if key in _NOT_CURVES or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            panel, label = key, key
            for suffix in ("_train", "_validation"):
                if key.endswith(suffix):
                    panel, label = key[: -len(suffix)], suffix[1:]
            xs, ys = panels.setdefault(panel, {}).setdefault(label, ([], []))
            xs.append(int(epoch) if epoch is not None else len(xs) + 1)
            ys.append(float(value))
    return panels


def curves_png(metrics: Sequence[Mapping[str, Any]], title: str = "") -> bytes:
    """One small panel per metric against epoch; train and validation together where both exist."""
    panels = curve_series(metrics)
    if not panels:
        raise ValueError("no numeric per-epoch metrics to plot")
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.0 * nrows), layout="constrained")
    for i, (name, series) in enumerate(sorted(panels.items())):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for label, (xs, ys) in sorted(series.items(), key=lambda kv: kv[0] != "train"):
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3,
                    label=None if label == name else label)
        ax.set_title(name.replace("_", " "), fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if any(label != name for label in series):
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return _figure_png(fig)


def energy_curve_png(metrics: Sequence[Mapping[str, Any]], title: str = "") -> bytes:
    """A VMC run: the energy per iteration with its error band (energy +- energy_error) and the
    exact ground-state energy where one is known; beside it the local-energy variance (log scale),
    which goes to zero as the trial state approaches an eigenstate."""
    rows = [m for m in metrics if _number(m.get("energy"))]
    if not rows:
        raise ValueError("no per-iteration energies to plot")
    it = np.array([m["epoch"] for m in rows], dtype=float)
    energy = np.array([m["energy"] for m in rows], dtype=float)
    error = np.array([m.get("energy_error") or 0.0 for m in rows], dtype=float)
    variance = np.array([m.get("variance") or np.nan for m in rows], dtype=float)
    exact = next((m["exact_energy"] for m in rows if _number(m.get("exact_energy"))), None)
    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    ax = fig.add_subplot(1, 2, 1)
    ax.fill_between(it, energy - error, energy + error, alpha=0.3, label="± error (blocking)")
    ax.plot(it, energy, lw=1.2, label="energy")
    if exact is not None:
        ax.axhline(exact, color="k", ls="--", lw=1, label=f"exact {exact:.6g}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("energy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax2 = fig.add_subplot(1, 2, 2)
    positive = variance > 0
    if positive.any():
        ax2.semilogy(it[positive], variance[positive], lw=1.2)
    ax2.set_xlabel("iteration")
    ax2.set_title("local-energy variance", fontsize=10)
    ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    return _figure_png(fig)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def overlay_curves_png(runs: Mapping[str, Sequence[Mapping[str, Any]]], title: str = "") -> bytes:
    """Several jobs' curves in shared panels, one colour per job; validation dashed."""
    series_by_run = {label: curve_series(metrics) for label, metrics in runs.items()}
    names = sorted({name for panels in series_by_run.values() for name in panels})
    if not names:
        raise ValueError("no numeric per-epoch metrics to plot")
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.0 * nrows + 0.4), layout="constrained")
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for i, name in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for colour, (run, panels) in zip(colours, series_by_run.items()):
            for label, (xs, ys) in sorted(panels.get(name, {}).items(), key=lambda kv: kv[0] != "train"):
                ax.plot(xs, ys, color=colour, linestyle="--" if label == "validation" else "-",
                        marker="o" if len(xs) < 30 else None, markersize=2.5,
                        label=run if label != "validation" else f"{run} (validation)")
        ax.set_title(name.replace("_", " "), fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    return _figure_png(fig)


@dataclass(frozen=True)
class IsingPoint:
    """A trained model's measurement at one temperature."""

    T: float
    energy: float
    energy_error: float
    heat: float
    heat_error: float


@dataclass(frozen=True)
class IsingCurve:
    """Exact reference on a grid of temperatures (non-finite values are left unplotted)."""

    T: np.ndarray
    energy: np.ndarray
    heat: np.ndarray
    label: str


def ising_png(points: Mapping[int, Sequence[IsingPoint]], exact: Mapping[int, IsingCurve],
              infinite: IsingCurve | None = None) -> bytes:
    """Energy per site and specific heat per site against T: each L's model points with error bars
    and the same L's exact curve in the same colour; the infinite lattice dashed."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_e, ax_c = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    colours = [f"C{i}" for i in range(10)]
    for i, L in enumerate(sorted(points)):
        colour = colours[i % len(colours)]
        pts = sorted(points[L], key=lambda p: p.T)
        ts = [p.T for p in pts]
        ax_e.errorbar(ts, [p.energy for p in pts], yerr=[p.energy_error for p in pts], fmt="o", color=colour,
                      capsize=3, label=f"RBM, L={L}")
        ax_c.errorbar(ts, [p.heat for p in pts], yerr=[p.heat_error for p in pts], fmt="o", color=colour,
                      capsize=3, label=f"RBM, L={L}")
        if L in exact:
            curve = exact[L]
            ax_e.plot(curve.T, _finite(curve.energy), color=colour, label=curve.label)
            ax_c.plot(curve.T, _finite(curve.heat), color=colour, label=curve.label)
    if infinite is not None:
        ax_e.plot(infinite.T, _finite(infinite.energy), "k--", lw=1, label=infinite.label)
        ax_c.plot(infinite.T, _finite(infinite.heat), "k--", lw=1, label=infinite.label)
    for ax, name in ((ax_e, "energy per site"), (ax_c, "specific heat per site")):
        ax.set_xlabel("T")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _figure_png(fig)


def _finite(values: np.ndarray) -> np.ndarray:
    """NaN where not finite (Onsager's specific heat is infinite at T_c): matplotlib leaves a gap."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[~np.isfinite(out)] = np.nan
    return out
