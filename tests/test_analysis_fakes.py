"""Small fake experiment folders written the way Ray Tune 2.60 writes them.

Helpers only (imported by the other test_analysis_* modules); the accuracies are simple
functions of the sparsity, so tests know the answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TOTAL = 1000
LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def write_experiment(root: Path, name: str, kind: str, sweep: str) -> Path:
    exp = Path(root) / name
    exp.mkdir(parents=True)
    (exp / "sparsenet_experiment.json").write_text(json.dumps(
        {"kind": kind, "sweep": sweep, "argv": ["--quick"], "trials": 0}))
    (exp / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")
    (exp / "tuner.pkl").write_bytes(b"\x80\x04N.")
    return exp


def write_trial(exp: Path, index: int, config: dict, metrics: list[dict], *,
                finished: bool = True, error: str | None = None) -> str:
    """A trial folder with params.json and result.json lines (Tune's bookkeeping keys)."""
    trial_id = f"{index:05x}"[-5:] + f"_{index:05d}"
    seed = config.get("seed", 0)
    folder = exp / f"ExperimentTrainable_{trial_id}_{index}_seed={seed}_2026-01-01_00-00-{index:02d}"
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    lines = []
    for i, m in enumerate(metrics):
        row = {**m, "done": finished and i == len(metrics) - 1, "training_iteration": i + 1,
               "trial_id": trial_id, "date": "2026-01-01_00-00-00", "timestamp": 1767225600 + i,
               "time_this_iter_s": 0.5, "time_total_s": 0.5 * (i + 1), "pid": 123,
               "hostname": "h", "node_ip": "127.0.0.1", "config": config,
               "time_since_restore": 0.5 * (i + 1), "iterations_since_restore": i + 1}
        lines.append(json.dumps(row))
    (folder / "result.json").write_text("\n".join(lines) + ("\n" if lines else ""))
    if error:
        (folder / "error.txt").write_text(
            f"Failure # 1 (occurred at 2026-01-01_00-00-09)\n"
            f"ray::ExperimentTrainable.train()\nTraceback...\n{error}\n")
    return trial_id


# --- IMP -------------------------------------------------------------------------------------

ROUNDS = 7  # weights remaining 0.8 ** r, r = 0..ROUNDS-1
PRUNING_ROUNDS = ROUNDS - 1  # config "rounds": rounds after round 0, as IMPConfig counts them


def imp_accuracy(ticket: str, wr: float, seed: int) -> float:
    """Winning tickets hold 98% down to 41% remaining, then drop; random ones decline."""
    jitter = 0.0005 * (seed - 1)
    if ticket == "winning":
        return 0.98 + jitter - (0.2 * (0.4 - wr) if wr < 0.4 else 0.0)
    return 0.98 + jitter - 0.05 * (1 - wr)


def imp_rows(ticket: str, seed: int, rounds: int = ROUNDS, epochs: int = 2) -> list[dict]:
    rows = []
    for r in range(rounds):
        wr = 0.8 ** r
        acc = imp_accuracy(ticket, wr, seed)
        for e in range(epochs):
            end = e == epochs - 1
            row = {"seed": seed, "arch": "lenet300_100", "dataset": "digits", "ticket": ticket,
                   "round": r, "epoch": e, "weights_remaining": wr, "params_remaining": wr,
                   "compression": 1 / wr, "train_loss": 0.1, "val_acc": acc,
                   "test_acc": acc - (0.001 if not end else 0.0), "round_end": end}
            if end:
                row.update(round_test_acc_at_best_val=acc, round_best_test_acc=acc + 0.001)
            rows.append(row)
    return rows


def fake_imp(root: Path, name: str = "imp", seeds: int = 3) -> Path:
    """seeds x {winning, random} finished, + one errored and one unfinished trial (seed 3)."""
    exp = write_experiment(root, name, "imp", "imp_sparsity.py")
    i = 0
    for seed in range(seeds):
        for ticket in ("winning", "random"):
            config = {"experiment": "imp", "data_dir": None, "seed": seed, "ticket": ticket,
                      "arch": "lenet300_100", "dataset": "digits", "rounds": PRUNING_ROUNDS}
            write_trial(exp, i, config, imp_rows(ticket, seed))
            i += 1
    base = {"experiment": "imp", "data_dir": None, "seed": seeds, "arch": "lenet300_100",
            "dataset": "digits", "rounds": PRUNING_ROUNDS}
    write_trial(exp, i, {**base, "ticket": "winning"}, imp_rows("winning", seeds, rounds=2),
                finished=False, error="RuntimeError: CUDA out of memory")
    write_trial(exp, i + 1, {**base, "ticket": "random"}, imp_rows("random", seeds, rounds=3),
                finished=False)
    return exp


# --- noise -----------------------------------------------------------------------------------

NETWORKS = {  # name: (weights remaining, accuracy lost per unit noise level)
    "dense": (1.0, 0.50), "winning@0.70": (0.3, 0.50), "random@0.70": (0.3, 0.80),
    "winning@0.967": (0.033, 1.00), "control:dense": (1.0, 0.50),
    "control:weight_sparse": (0.3, 0.70), "control:activation_sparse": (1.0, 0.20),
    "control:both": (0.3, 0.25),
}
# as sparsenet.experiments.noise runs them: one tickets-mode trial per IMP trial (each
# evaluates its own dense round 0), one control-mode trial per control kind
TICKET_TRIALS = {"winning": ("dense", "winning@0.70", "winning@0.967"),
                 "random": ("dense", "random@0.70")}
CONTROL_KINDS = ("dense", "weight_sparse", "activation_sparse", "both")
NOISE_EVALUATIONS = sum(map(len, TICKET_TRIALS.values())) + len(CONTROL_KINDS)  # per seed


def noise_keys(net: str, seed: int) -> dict:
    rng = np.random.default_rng([seed, sum(map(ord, net))])
    _, slope = NETWORKS[net]
    out = {"total": TOTAL}
    for noise, extra in (("set_2sigma", 0.0), ("zero", 0.1)):
        score = 0
        for level in LEVELS:
            acc = 0.98 - (slope + extra) * level + rng.normal(0, 0.002)
            correct = int(round(acc * TOTAL))
            out[f"correct/{noise}/{level:g}"] = correct
            out[f"acc/{noise}/{level:g}"] = correct / TOTAL
            score += correct
        out[f"noise_score/{noise}"] = score
    return out


def fake_noise(root: Path, name: str = "noise", seeds: int = 5) -> Path:
    exp = write_experiment(root, name, "noise", "noise_robustness.py")
    common = {"experiment": "noise", "data_dir": None, "levels": list(LEVELS),
              "noise_types": ["set_2sigma", "zero"], "noise_seed": 0, "eval_batch_size": 1000}
    i = 0
    for seed in range(seeds):
        for ticket, nets in TICKET_TRIALS.items():
            config = {**common, "imp_dir": f"{root}/imp/ExperimentTrainable_{ticket}_{seed}",
                      "pruned_fractions": [0.7, 0.967], "include_dense": True}
            rows = [{"mode": "tickets", "network": net, "round": r,
                     "weights_remaining": NETWORKS[net][0], "arch": "lenet300_100",
                     "dataset": "digits", "ticket": ticket, "seed": seed, "noise_seed": 0,
                     **noise_keys(net, seed)} for r, net in enumerate(nets)]
            write_trial(exp, i, config, rows)
            i += 1
        for kind in CONTROL_KINDS:
            net = f"control:{kind}"
            config = {**common, "imp_dir": None, "control_kind": kind, "control_seed": seed,
                      "control_dataset": "digits", "control_epochs": 2,
                      "control_weight_sparsity": 0.7, "control_kw_fraction": 0.1}
            rows = [{"mode": "control", "network": net, "epoch": e + 1,
                     "weights_remaining": NETWORKS[net][0], "train_loss": 0.1,
                     "arch": "sparse_mlp" if "activation" in kind or kind == "both" else "mlp",
                     "dataset": "digits", "seed": seed, "noise_seed": 0} for e in range(2)]
            rows[-1].update(noise_keys(net, seed))
            write_trial(exp, i, config, rows)
            i += 1
    return exp


# --- continual -------------------------------------------------------------------------------

def matrix(model_quality: float, num_tasks: int, seed: int) -> np.ndarray:
    """R[t, i]: learned at 0.95, then forgets (1 - quality) per later task."""
    r = np.full((num_tasks, num_tasks), np.nan)
    for t in range(num_tasks):
        for i in range(t + 1):
            r[t, i] = 0.95 + 0.002 * seed - (1 - model_quality) * (t - i)
    return r


def continual_rows(r: np.ndarray, seed: int, upto: int | None = None, epochs: int = 2) -> list[dict]:
    rows = []
    tasks = r.shape[0] if upto is None else upto
    for t in range(tasks):
        for e in range(epochs):
            row = {"task": t, "epoch": e, "train_loss": 0.2, "seed": seed}
            if e == epochs - 1:
                seen = r[t, : t + 1]
                row.update(task_end=True, matrix_row=list(seen), mean_accuracy=float(seen.mean()),
                           newest_accuracy=float(seen[-1]),
                           forgetting=float(np.mean(np.nanmax(r[:t, :t], axis=0) - r[t, :t]))
                           if t else None,
                           bwt=float(np.mean(r[t, :t] - np.diag(r)[:t])) if t else None)
            rows.append(row)
    return rows


def fake_continual(root: Path, name: str, stream: str, seeds: int = 3, num_tasks: int = 3,
                   unfinished: bool = False) -> Path:
    sweep = "dendrites_pmnist.py" if stream == "permuted" else "dendrites_split_cifar.py"
    dataset = "digits" if stream == "permuted" else "cifar100"
    models = ({"active_dendrites_mlp": ("onehot", 0.99), "mlp": ("none", 0.9)}
              if stream == "permuted" else {"active_dendrites_cnn": ("onehot", 0.98),
                                            "cnn": ("none", 0.85)})
    exp = write_experiment(root, name, "continual", sweep)
    i = 0
    for model, (context, quality) in models.items():
        for seed in range(seeds):
            config = {"experiment": "continual", "data_dir": None, "model": model,
                      "context": context, "si": False, "num_tasks": num_tasks, "seed": seed,
                      "dataset": dataset, "lr": 5e-4 if model.startswith("active") else 1e-3}
            r = matrix(quality, num_tasks, seed)
            write_trial(exp, i, config, continual_rows(r, seed))
            i += 1
    if unfinished:
        config = {"experiment": "continual", "data_dir": None, "model": "cnn"
                  if stream == "split" else "mlp", "context": "none", "si": False,
                  "num_tasks": num_tasks, "seed": seeds, "dataset": dataset, "lr": 1e-3}
        write_trial(exp, i, config, continual_rows(matrix(0.85, num_tasks, seeds), seeds,
                                                   upto=num_tasks - 1), finished=False)
    return exp
