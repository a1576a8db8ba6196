"""The paper's figures with seaborn, drawn on bare ``Figure`` objects.

No pyplot: nothing here changes the global matplotlib backend, so the same functions work
headless (Agg via ``savefig``) and inside a notebook.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from analysis import anchors, keys
from analysis.continual import mean_matrices
from analysis.grouping import level_key, setting_groups
from analysis.tables import imp_metric, network_rank

DPI = 100


def _grid(panels: int, *, width: float = 4.6, height: float = 3.4, ncols: int = 3):
    ncols = max(1, min(ncols, panels))
    nrows = math.ceil(panels / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels]


def _legend_once(fig: Figure, axes) -> None:
    """One legend for the figure, outside the panels on the right."""
    handles, labels, title = [], [], None
    for ax in axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        if not handles:
            handles, labels = ax.get_legend_handles_labels()
            title = legend.get_title().get_text()
        legend.remove()
    if handles:
        fig.legend(handles, labels, title=title, loc="outside right upper", frameon=False,
                   fontsize=8, title_fontsize=9)


_FAMILIES = {"winning": "Blues", "random": "Oranges", "reinit": "Greens"}
_CONTROL_COLORS = {"control:dense": "0.45", "control:weight_sparse": "#9467bd",
                   "control:activation_sparse": "#2ca02c", "control:both": "#8c564b"}


def network_styles(order: Sequence[str]) -> tuple[dict, dict]:
    """Colours and dashes per network: ticket kinds as colour families (darker = sparser),
    dense black, controls dashed, so eleven lines stay readable."""
    colors: dict[str, object] = {}
    dashes: dict[str, object] = {}
    by_kind: dict[str, list[str]] = {}
    for name in order:
        by_kind.setdefault(keys.network_kind(name), []).append(name)
    for kind, names in by_kind.items():
        if kind in _FAMILIES:
            shades = sns.color_palette(_FAMILIES[kind], len(names) + 2)[2:]
            colors.update(zip(names, shades))
        for name in names:
            colors.setdefault(name, "black" if kind == keys.DENSE else
                              _CONTROL_COLORS.get(name, "0.6"))
            dashes[name] = (4, 2) if keys.is_control(name) else ""
    return colors, dashes


def _percent_log_axis(ax, values: Sequence[float]) -> None:
    """Log x axis of weights remaining in percent, dense on the left (as in Frankle & Carbin)."""
    ax.set_xscale("log")
    ax.invert_xaxis()
    ticks = sorted(set(values), reverse=True)
    if len(ticks) > 8:
        idx = np.unique(np.linspace(0, len(ticks) - 1, 8).round().astype(int))
        ticks = [ticks[i] for i in idx]
    ax.set_xticks(ticks)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))


def imp_figure(imp: pd.DataFrame, *, metric: str | None = None,
               settings: Sequence[str] = ()) -> Figure | None:
    """Accuracy vs weights remaining, one line per ticket kind, band = std over seeds."""
    metric = metric or imp_metric(imp)
    if metric is None or imp.empty:
        return None
    panels = list(setting_groups(imp, settings))
    fig, axes = _grid(len(panels), width=5.6)  # room for the published anchors' legend
    for ax, (label, part) in zip(axes, panels):
        data = part.assign(x=100 * level_key(part[keys.WEIGHTS_REMAINING]).to_numpy(),
                           y=100 * part[metric].astype(float))
        hue = keys.TICKET if keys.TICKET in data else None
        order = [t for t in keys.TICKET_ORDER if hue and t in set(data[hue])] or None
        if hue:
            order = (order or []) + sorted(set(data[hue]) - set(order or []))
        sns.lineplot(data=data, x="x", y="y", hue=hue, hue_order=order, errorbar="sd",
                     marker="o", markersize=4, ax=ax)
        _percent_log_axis(ax, data["x"].dropna().unique())
        overlay_ticket_anchors(ax, part["dataset"].iloc[0] if "dataset" in part else None)
        ax.set_xlabel("weights remaining (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(label or keys.IMP_METRIC_LABELS.get(metric, metric), fontsize=9)
    _legend_once(fig, axes)
    return fig


PUBLISHED_STYLE = {"color": "black", "linestyle": "none", "markersize": 9, "zorder": 5}


def overlay_ticket_anchors(ax, dataset: str | None) -> None:
    """Published reference points, marked as such: the weights remaining down to which
    Frankle & Carbin's tickets match dense and the paper's 33x (vertical lines, any dataset);
    their dense accuracy on MNIST as stars, on MNIST panels only (accuracy is per dataset)."""
    fc = anchors.anchor("frankle.matches_dense_down_to")
    fc_below = anchors.anchor("frankle.first_below_dense")
    bain = anchors.anchor("bain.weights_remaining")
    ax.axvline(100 * fc.value, color="0.3", linestyle="--", linewidth=1,
               label=f"F&C 2019 (published):\n= dense to {100 * fc.value:g}%")
    ax.axvline(100 * fc_below.value, color="0.3", linestyle=":", linewidth=1,
               label=f"F&C 2019 (published):\n< dense at {100 * fc_below.value:g}%")
    ax.axvline(100 * bain.value, color="tab:red", linestyle="-.", linewidth=1,
               label=f"Bain 2022 (published):\nno loss at {100 * bain.value:g}%")
    if dataset is not None and anchors.same_dataset(dataset, fc.dataset):
        acc = 100 * anchors.anchor("frankle.dense_accuracy").value
        ax.plot([100, 100 * fc.value], [acc, acc], marker="*", **PUBLISHED_STYLE,
                label="F&C 2019 (published):\nMNIST accuracy")


def overlay_numenta(ax, max_tasks: int) -> None:
    """Numenta's published permuted-MNIST means (final mean accuracy of a k-task run) at
    k <= the tasks shown: ADN and the 3-layer MLP, as black markers."""
    for row, marker, label in (("ADN (segments = tasks)", "X", "ADN"),
                               ("3-layer MLP", "P", "3-layer MLP")):
        points = [(t, 100 * v) for t, v in anchors.numenta_curve(row) if t <= max_tasks]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker=marker, **PUBLISHED_STYLE,
                    label=f"Numenta {label}\n(published, MNIST)")


def noise_figure(noise: pd.DataFrame, settings: Sequence[str] = ()) -> Figure | None:
    """Accuracy vs noise level, one line per network, a panel per noise type."""
    if noise.empty:
        return None
    panels = [(f"{label}, {n}" if label else n, cell)
              for label, part in setting_groups(noise, settings)
              for n, cell in part.groupby("noise", sort=True)]
    fig, axes = _grid(len(panels))
    wr = noise.groupby("network")[keys.WEIGHTS_REMAINING].first() \
        if keys.WEIGHTS_REMAINING in noise else pd.Series(dtype=float)
    order = sorted(noise["network"].unique(), key=lambda n: network_rank(n, wr.get(n, np.nan)))
    colors, dashes = network_styles(order)
    for ax, (title, cell) in zip(axes, panels):
        data = cell.assign(y=100 * cell["accuracy"].astype(float))
        sns.lineplot(data=data, x="level", y="y", hue="network", style="network",
                     hue_order=order, style_order=order, palette=colors, dashes=dashes,
                     markers=False, errorbar="sd", ax=ax)
        ax.set_xlabel("noise level (fraction of pixels)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"noise: {title}", fontsize=9)
    _legend_once(fig, axes)
    return fig


def running_mean_figure(running: pd.DataFrame) -> Figure | None:
    """Mean accuracy over the tasks seen so far vs tasks trained, one line per arm."""
    if running.empty:
        return None
    by = [c for c in ("stream", "num_tasks") if c in running]
    panels = list(running.groupby(by, sort=True)) if by else [((), running)]
    fig, axes = _grid(len(panels))
    for ax, (key, part) in zip(axes, panels):
        key = key if isinstance(key, tuple) else (key,)
        data = part.assign(y=100 * part["running_mean"].astype(float))
        data = data.drop(columns="model", errors="ignore").rename(columns={"label": "model"})
        sns.lineplot(data=data, x="tasks_trained", y="y", hue="model", errorbar="sd",
                     marker="o", markersize=3, ax=ax)
        parts = dict(zip(by, key))
        if parts.get("stream", "permuted") == "permuted":
            overlay_numenta(ax, int(part["tasks_trained"].max()))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("tasks trained")
        ax.set_ylabel("mean accuracy over tasks seen (%)")
        ax.set_title(_continual_title(dict(zip(by, key))), fontsize=9)
    _legend_once(fig, axes)
    return fig


def matrix_figure(continual: pd.DataFrame) -> Figure | None:
    """The accuracy matrix R[t, i] (mean over seeds) as a heat map per arm."""
    if continual.empty:
        return None
    mats = mean_matrices(continual)
    fig, axes = _grid(len(mats), width=4.2, height=3.6)
    for ax, (key, matrix) in zip(axes, sorted(mats.items(), key=lambda kv: str(kv[0]))):
        size = matrix.shape[0]
        labels = list(range(1, size + 1)) if size <= 20 else "auto"
        sns.heatmap(100 * matrix, mask=np.isnan(matrix), vmin=0, vmax=100, cmap="viridis",
                    annot=size <= 10, fmt=".0f", annot_kws={"fontsize": 8},
                    xticklabels=labels, yticklabels=labels, square=True, ax=ax,
                    cbar_kws={"label": "accuracy (%)"})
        ax.set_xlabel("task evaluated")
        ax.set_ylabel("after training task")
        ax.set_title(_continual_title(dict(zip(("stream", "num_tasks", "label"), key))),
                     fontsize=9)
    return fig


def _continual_title(parts: dict) -> str:
    """e.g. "active_dendrites_mlp [onehot] (permuted, 10 tasks)"."""
    inner = [str(parts["stream"])] if "stream" in parts else []
    if "num_tasks" in parts:
        inner.append(f"{int(float(parts['num_tasks']))} tasks")
    head = str(parts.get("label", ""))
    if not inner:
        return head
    return f"{head}\n({', '.join(inner)})" if head else ", ".join(inner)


def save_figure(fig: Figure, stem: str | Path, *, pdf: bool = False) -> list[Path]:
    """Write ``stem.png`` (and ``stem.pdf``); returns the paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png")]
    fig.savefig(paths[0], dpi=DPI)
    if pdf:
        paths.append(stem.with_suffix(".pdf"))
        fig.savefig(paths[1])
    return paths
