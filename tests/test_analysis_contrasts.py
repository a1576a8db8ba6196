"""The same arm under two protocols, paired by seed: the differences, their sign, and which
trials may enter (finished ones, seeds both protocols ran)."""

import pandas as pd
import pytest

from analysis.contrasts import protocol_contrasts


def trial(label, epochs, seed, acc, forgetting, complete=True):
    return {"label": label, "num_tasks": 10, "epochs_per_task": epochs, "seed": seed,
            "mean_accuracy": acc, "forgetting": forgetting, "complete": complete}


def test_differences_are_b_minus_a_in_points_over_shared_seeds():
    rows = [trial("adn", 3, s, 0.94 + 0.001 * s, 0.04) for s in range(3)]
    rows += [trial("adn", 5, s, 0.93 + 0.001 * s + 0.0005 * (s == 1), 0.055) for s in range(3)]
    rows += [trial("adn", 5, 7, 0.10, 0.9)]  # a seed protocol 3 never ran: left out
    rows += [trial("mlp", 5, s, 0.81, 0.17) for s in range(3)]  # one protocol: no contrast
    out = protocol_contrasts(pd.DataFrame(rows), ["epochs_per_task"], resamples=2000)
    assert set(out["label"]) == {"adn"} and set(out["n"]) == {3}
    acc = out[out["metric"] == "mean_accuracy"].iloc[0]
    assert (acc["protocol_a"], acc["protocol_b"]) == ("epochs_per_task=3", "epochs_per_task=5")
    assert acc["diff"] == pytest.approx(-1.0 + 0.05 / 3)
    assert acc["ci_low"] <= acc["diff"] <= acc["ci_high"] < 0 and acc["p_two_sided"] < 0.01
    forgetting = out[out["metric"] == "forgetting"].iloc[0]
    assert forgetting["diff"] == pytest.approx(1.5)


def test_unfinished_trials_and_single_seeds_give_no_contrast():
    rows = [trial("adn", 3, 0, 0.94, 0.04), trial("adn", 5, 0, 0.93, 0.05),
            trial("adn", 3, 1, 0.94, 0.04), trial("adn", 5, 1, 0.5, 0.5, complete=False)]
    assert protocol_contrasts(pd.DataFrame(rows), ["epochs_per_task"]).empty
    assert protocol_contrasts(pd.DataFrame(rows), []).empty  # one protocol only
