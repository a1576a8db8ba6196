"""The rules the claims table's verdicts follow: one typed, frozen settings object, and the
text of each rule with why it is set so. The report's Claims section quotes ``statements``;
each kind's module in ``analysis.kinds`` applies them; docs/verdicts.md sets them out for a reviewer.

Changed from the report CLI (``--alpha``, ``--margin-points``, ``--noise-margin``,
``--equivalence-margin``); a bad value is a ``ValueError`` with one line, which the CLI
prints before anything is loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

MIN_SEEDS = 3        # fewer paired seeds: no t-test at all (one df or none)
NUMENTA_DENSE_CNN2, NUMENTA_SPARSE_CNN2 = 97_040, 103_764   # analysis.anchors, claim 2


@dataclass(frozen=True)
class VerdictRules:
    """Settings of every verdict rule (defaults are the documented ones)."""

    alpha: float = 0.05
    """Level of every one-sided test and of each Holm family."""
    margin_points: float = 0.5
    """Claim 1: winning tickets may lose this many accuracy points against dense."""
    noise_margin: float = 0.02
    """Claim 2: a gain in noise score below this fraction of dense's score counts as none."""
    equivalence_margin_points: float = 1.0
    """Claim 3: our mean agrees with a published mean within +- this many points."""
    power: float = 0.8
    """The power the "about N seeds would decide" sentence plans for."""

    def __post_init__(self) -> None:
        checks = {
            "alpha": (0 < self.alpha < 0.5, "must be in (0, 0.5): the tests are one-sided"),
            "margin_points": (0 <= self.margin_points < 100, "must be in [0, 100) points"),
            "noise_margin": (0 <= self.noise_margin < 1,
                             "must be in [0, 1): a fraction of the dense noise score"),
            "equivalence_margin_points": (0 < self.equivalence_margin_points < 100,
                                          "must be in (0, 100) points: TOST needs a margin"),
            "power": (0 < self.power < 1, "must be in (0, 1)"),
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, got {value!r}")
            ok, why = checks[f.name]
            if not ok:
                raise ValueError(f"{f.name} {why}, got {value:g}")

    @property
    def confidence(self) -> float:
        """Two-sided intervals are at 1 - alpha; one-sided bounds at 1 - alpha too."""
        return 1.0 - self.alpha

    @property
    def pct(self) -> str:
        return f"{100 * self.confidence:g}%"

    # --- the rule of each claim, as quoted in the report --------------------------------

    def claim1(self) -> str:
        return (f"Fixed-sequence non-inferiority: walking rounds from dense to sparser, each "
                f"round's winning tickets are tested against dense of the same seed "
                f"(one-sided paired t, H1: winning - dense > -{self.margin_points:g} points, "
                f"alpha={self.alpha:g}); the walk STOPS at the first round not shown "
                f"non-inferior, or at the first round with fewer seeds than dense. The headline "
                f"is the last round passed, as compression over prunable weights and over all "
                f"parameters. Against the published compression: reproduced when the headline "
                f"reaches it; not reproduced when a round at or below it is shown inferior "
                f"(one-sided upper bound of winning - dense below -{self.margin_points:g}, Holm "
                f"over those rounds); else inconclusive. Why: a fixed sequence spends alpha once "
                f"for the whole walk (family-wise error {self.alpha:g}); "
                f"{self.margin_points:g} points is about the seed-to-seed spread of LeNet-300-100 "
                f"test accuracy on MNIST, below what the paper would call a loss.")

    def claim1_random(self) -> str:
        return (f"Winning vs random tickets at the headline compression: one-sided paired t "
                f"(H1: winning > random), alpha={self.alpha:g}; reproduced if significant, not "
                f"reproduced if the reverse one-sided test is, else inconclusive.")

    def claim2(self) -> str:
        return (f"A null claim, tested as non-superiority: margin delta = "
                f"{100 * self.noise_margin:g}% of the dense network's mean noise score. "
                f"Reproduced only when at EVERY sparsity level the one-sided {self.pct} upper "
                f"bound of (sparse - dense, paired by seed) is below delta (intersection-union: "
                f"no adjustment needed, every level must pass); not reproduced when some level "
                f"is significantly higher than dense (one-sided paired t, Holm across levels, "
                f"alpha={self.alpha:g}); else inconclusive. Controls against their dense control "
                f"the same way (for activation sparsity, which the paper finds DOES help, "
                f"reproduced = significantly higher, not reproduced = non-superiority shown). "
                f"Why delta = {100 * self.noise_margin:g}%: about a third of the gain Numenta "
                f"published for their sparse CNN ({NUMENTA_SPARSE_CNN2:,} vs dense "
                f"{NUMENTA_DENSE_CNN2:,}, +"
                f"{100 * (NUMENTA_SPARSE_CNN2 / NUMENTA_DENSE_CNN2 - 1):.1f}%): a gain that "
                f"small would not be called 'improves robustness'. A non-significant gain is not "
                f"evidence of no gain, and Bonferroni would make 'no effect' easier: neither is "
                f"used.")

    def equivalence(self) -> str:
        return (f"Agreement with a published mean: TOST (two one-sided t-tests, statsmodels), "
                f"margin +-{self.equivalence_margin_points:g} points, alpha={self.alpha:g}: "
                f"reproduced when equivalent (the {100 * (1 - 2 * self.alpha):g}% t-interval "
                f"lies inside published +-{self.equivalence_margin_points:g}); not reproduced "
                f"when that interval lies wholly outside the margin; else inconclusive. Only on "
                f"the published dataset and task count. Why +-"
                f"{self.equivalence_margin_points:g}: the paper replicated Numenta's 10-task "
                f"value within 0.3 points; 1 point leaves room for protocol detail but not for a "
                f"different result. A wider (noisier) interval can no longer pass more easily.")

    def superiority(self, family: int | None = None) -> str:
        size = f"{family} comparisons: " if family else ""
        return (f"Arm vs arm, paired by seed: one-sided paired t (H1: the dendritic network is "
                f"better: higher accuracy, lower forgetting), Holm over the claim's family "
                f"({size}each dendritic arm x every baseline in the table x accuracy and "
                f"forgetting, per protocol), alpha="
                f"{self.alpha:g}; reproduced if the Holm-adjusted p < alpha, not reproduced if "
                f"the Holm-adjusted reverse one-sided p < alpha, else inconclusive.")

    def intervals(self) -> str:
        return (f"Intervals: t-based, matched to the test: the two-sided {self.pct} t-interval "
                f"of the mean difference over seeds, and for a one-sided test its one-sided "
                f"{self.pct} bound. Never the seed range; a bootstrap interval only from 10 seeds "
                f"up, labelled as one.")

    def power_sentence(self) -> str:
        return (f"Power: each inconclusive row says how many seeds would give "
                f"{100 * self.power:g}% power to decide at the observed SD (statsmodels "
                f"TTestPower, one-sided, effect = the observed distance to the margin or to 0; "
                f"Holm families at alpha / family size), never fewer than one more than the "
                f"seeds at hand.")

    def statements(self) -> list[str]:
        """Every rule, one line each: what the Claims section quotes."""
        return [f"Claim 1 (lottery tickets): {self.claim1()}",
                f"Claim 1, winning vs random: {self.claim1_random()}",
                f"Claim 2 (noise): {self.claim2()}",
                f"Claim 3 vs a published mean: {self.equivalence()}",
                f"Claims 3 and 4, arm vs arm: {self.superiority()}",
                "Claim 4's headline is the comparison that isolates dendrites: the dendritic CNN "
                "vs the sparse CNN given the task id; the other comparisons stand beside it.",
                self.intervals(), self.power_sentence(),
                f"Fewer than {MIN_SEEDS} paired seeds: no test (inconclusive (n < {MIN_SEEDS}))."]


# Beyond this many seeds a row says the mean sits at the decision boundary rather than
# quoting a number no study would run (the plan is then a smaller SD or a stated margin).
PRACTICAL_SEEDS = 100


def inconclusive(seeds: int | None, n: int, why: str = "") -> str:
    """``inconclusive; about 9 seeds would decide`` (or that no practical number would, at
    this mean: it sits at the margin or at zero)."""
    head = f"inconclusive{f' ({why})' if why else ''}"
    if seeds is None or seeds > PRACTICAL_SEEDS:
        return f"{head}; no practical number of seeds (over {PRACTICAL_SEEDS}) would decide " \
            f"at the observed mean, which sits at the decision boundary"
    return f"{head}; about {max(seeds, n + 1)} seeds would decide"
