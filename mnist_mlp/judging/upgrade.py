"""The upgrade verdict: two stacks (a base lock and a candidate) judged on build, accuracy and speed.

``benchmarks/upgrade.py`` builds both environments and measures; this module only judges what
was measured and renders it (verdict.json -> verdict.md / verdict.html), so a kept verdict is
re-rendered by a test without training anything.

* **Build:** every model's configuration as trained (``trained_config.json``: layers, shapes,
  initializers, optimizer, compile and fit arguments, Keras's global settings) and its parameter
  counts, diffed field by field. Any difference is named; a changed Keras default shows here.
* **Accuracy:** paired over the same seeds (a seed is the same run on every stack), by
  ``mnist_mlp.judging.compare``: "identical" when every seed's gated statistic (the mean test accuracy
  of the last 10 epochs) is bit for bit equal, else a
  one-sided paired t-test at ``compare.ALPHA`` ("worse", "better" or "same"). Seeds are spent
  where needed (``seeds_wanted``): one seed settles a model that is bit-identical on it; any
  other model trains ``POWER_SEEDS``, then more while the drop it could detect at 90 % power is
  above ``TARGET_DROP``, up to ``len(SEEDS)``. The detectable drop is
  ``(t(1-alpha, n-1) + t(power, n-1)) * sd / sqrt(n)`` of the paired differences.
* **Speed:** the interleaved A/B of ``benchmarks/ab.py`` (both environments' processes taking
  turns on the same cores), every model, judged by ``mnist_mlp.judging.abcompare`` at ``SPEED_THRESHOLD``
  and ``SPEED_ALPHA``.

Exit status: 0 when nothing got worse, 1 when a build field changed, a model is "worse" or a step
is "SLOWER", 2 for bad input.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from mnist_mlp.judging import abcompare, compare

# Seeds the verdict trains, in order: none of them calibrated a gate (golden/measured/gates.json
# uses 1-10, and 0 is the gated seed), so a verdict's seeds are fresh for every reader.
SEEDS = (11, 12, 13, 14, 15, 16, 17, 18)
POWER_SEEDS = 4
TARGET_DROP = 0.002  # 0.2 points of test accuracy
POWER = 0.90
SPEED_THRESHOLD, SPEED_ALPHA = 0.05, 0.01
SPEED_WORDS = (abcompare.SAME, abcompare.SLOWER, abcompare.FASTER)
BUILD, ACCURACY, SPEED = "build", "accuracy", "speed"


def detectable_drop(differences: Sequence[float], alpha: float = compare.ALPHA,
                    power: float = POWER) -> float | None:
    """The true drop the paired one-sided t-test catches with probability ``power``; 0.0 when
    every difference is exactly 0 (bit-identical: any change would show); None below 2 seeds."""
    if all(d == 0 for d in differences):
        return 0.0
    n = len(differences)
    if n < 2:
        return None
    from scipy import stats
    mean = math.fsum(differences) / n
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in differences) / (n - 1))
    return float((stats.t.ppf(1 - alpha, n - 1) + stats.t.ppf(power, n - 1)) * sd / math.sqrt(n))


def seeds_wanted(differences: Sequence[float], target: float = TARGET_DROP,
                 cap: int = len(SEEDS)) -> int:
    """How many seeds a model needs given its paired differences so far (never fewer than it has)."""
    n = len(differences)
    if n == 0:
        return 1
    if all(d == 0 for d in differences):
        return n
    if n < POWER_SEEDS:
        return min(POWER_SEEDS, cap)
    drop = detectable_drop(differences)
    if drop is None or drop <= target or n >= cap:
        return n
    # the drop shrinks about as 1/sqrt(n): ask for the n that reaches the target
    return min(cap, max(n + 1, math.ceil(n * (drop / target) ** 2)))


@dataclasses.dataclass(frozen=True)
class Side:
    """One stack: its name, lock file and the versions that matter."""

    name: str
    python: str
    lock: str
    versions: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class SpeedRow:
    model: str
    ratio: float
    ci_low: float
    ci_high: float
    p_slower: float
    verdict: str
    pair_ratios: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Everything measured for one base -> candidate judgement (verdict.json)."""

    base: Side
    candidate: Side
    backend: str
    lock_changes: tuple[str, ...]
    build: Mapping[str, tuple[str, ...]]  # model -> changed fields
    accuracy: Mapping[str, Mapping[str, Mapping[int, float]]]  # side -> model -> seed -> statistic
    speed: tuple[SpeedRow, ...]
    wall_seconds: float
    machine: str
    reused_runs: int = 0  # training runs an earlier invocation had finished (not in wall_seconds)

    @property
    def runs(self) -> int:
        """Training runs the accuracy section rests on, both sides."""
        return sum(len(seeds) for models in self.accuracy.values() for seeds in models.values())

    def paired(self) -> list[compare.PairedRow]:
        return compare.paired_rows(self.accuracy["base"], self.accuracy["candidate"])

    def failures(self) -> list[str]:
        """What got worse, one phrase each; empty when the candidate may replace the base."""
        found = [f"{BUILD}: {model} ({len(fields)} field(s) changed)"
                 for model, fields in self.build.items() if fields]
        found += [f"{ACCURACY}: {row.model} worse" for row in self.paired()
                  if row.outcome == compare.WORSE]
        found += [f"{SPEED}: {row.model} slower x{row.ratio:.3f}" for row in self.speed
                  if row.verdict == "SLOWER"]
        return found

    @property
    def exit_status(self) -> int:
        return 1 if self.failures() else 0

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["accuracy"] = {side: {m: {str(s): v for s, v in seeds.items()} for m, seeds in models.items()}
                            for side, models in self.accuracy.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping) -> Verdict:
        """The verdict a verdict.json holds; ValueError naming the first value no measurement writes."""
        verdict = cls._from_json(data)
        verdict.check()
        return verdict

    def check(self) -> None:
        """ValueError unless every field is one a measurement writes: both sides, the same models,
        accuracies from 0 to 1, finite positive ratios with a known word, plain printable names."""
        if set(self.accuracy) != {"base", "candidate"}:
            raise ValueError(f"accuracy holds {sorted(self.accuracy)}, not base and candidate")
        for side, models in self.accuracy.items():
            for model, seeds in models.items():
                if not all(math.isfinite(v) and 0 <= v <= 1 for v in seeds.values()):
                    raise ValueError(f"{side} {model}: an accuracy outside 0 to 1")
        for row in self.speed:
            numbers = (row.ratio, row.ci_low, row.ci_high, *row.pair_ratios)
            if row.verdict not in SPEED_WORDS or not all(math.isfinite(x) and x > 0 for x in numbers):
                raise ValueError(f"speed of {row.model}: not a measured ratio and verdict")
        if not (math.isfinite(self.wall_seconds) and self.wall_seconds >= 0
                and 0 <= self.reused_runs <= self.runs):
            raise ValueError("wall_seconds or reused_runs out of range")
        texts = (self.base.name, self.candidate.name, self.backend, self.machine, *self.lock_changes)
        if not all(isinstance(t, str) and t.isprintable() for t in texts):
            raise ValueError("a name holds a control character or is not text")

    @classmethod
    def _from_json(cls, data: Mapping) -> Verdict:
        return cls(
            base=Side(**data["base"]), candidate=Side(**data["candidate"]), backend=data["backend"],
            lock_changes=tuple(data["lock_changes"]),
            build={m: tuple(f) for m, f in data["build"].items()},
            accuracy={side: {m: {int(s): float(v) for s, v in seeds.items()} for m, seeds in models.items()}
                      for side, models in data["accuracy"].items()},
            speed=tuple(SpeedRow(**{**row, "pair_ratios": tuple(row["pair_ratios"])})
                        for row in data["speed"]),
            wall_seconds=float(data["wall_seconds"]), machine=data["machine"],
            reused_runs=int(data.get("reused_runs", 0)))


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.3f}"


def _detectable(differences: Sequence[float], drop: float | None) -> str:
    """The detectable-drop cell: "any" when it is 0, and why (every seed equal, or equally moved)."""
    if drop == 0.0:
        return "any (bit-identical)" if all(d == 0 for d in differences) else "any (no spread)"
    return "-" if drop is None else f"{drop * 100:.3f}"


def tables(verdict: Verdict) -> list[tuple[str, list[str], list[list[str]]]]:
    """The page's sections as (title, header, rows): one source for Markdown and HTML."""
    sides = [["", "base", "candidate"],
             ["stack", verdict.base.name, verdict.candidate.name],
             ["Python", verdict.base.python, verdict.candidate.python],
             *[[name, verdict.base.versions.get(name, "-"), verdict.candidate.versions.get(name, "-")]
               for name in sorted(set(verdict.base.versions) | set(verdict.candidate.versions))]]
    build_rows = [[model, "same" if not fields else "CHANGED", "; ".join(fields) or "-"]
                  for model, fields in verdict.build.items()]
    accuracy_rows = []
    for row in verdict.paired():
        drop = detectable_drop(row.differences)
        accuracy_rows.append([
            row.model, " ".join(str(s) for s in sorted(verdict.accuracy["base"][row.model])
                                if s in verdict.accuracy["candidate"][row.model]),
            _points(row.mean),
            "-" if row.interval is None else f"[{_points(row.interval[0])}, {_points(row.interval[1])}]",
            _detectable(row.differences, drop),
            row.outcome])
    speed_rows = [[r.model, f"{r.ratio:.3f}", f"[{r.ci_low:.3f}, {r.ci_high:.3f}]",
                   " ".join(f"{x:.3f}" for x in r.pair_ratios), f"{r.p_slower:.4f}", r.verdict]
                  for r in verdict.speed]
    return [
        ("Stacks", sides[0], sides[1:]),
        ("Build (configuration as trained and parameter counts, diffed)",
         ["model", "build", "changed fields"], build_rows),
        ((f"Accuracy (paired over the same seeds; mean of the last 10 epochs' test accuracy, points; "
         f"worse at p < {compare.ALPHA} one-sided; detectable drop at {POWER:.0%} power)"),
         ["model", "seeds", "mean diff", "interval", "detectable drop", "outcome"], accuracy_rows),
        ((f"Speed (interleaved A/B on the same cores; step time candidate/base; SLOWER when the "
         f"ratio >= {1 + SPEED_THRESHOLD:.2f} and p < {SPEED_ALPHA})"),
         ["model", "ratio", "95% CI", "per process pair", "p(slower)", "verdict"], speed_rows),
    ]


def headline(verdict: Verdict) -> str:
    failures = verdict.failures()
    outcome = "WORSE: " + "; ".join(failures) if failures else "nothing got worse"
    outcome += "" if verdict.speed else ", speed not measured"
    reused = (f"; {verdict.reused_runs} of {verdict.runs} training runs reused from an earlier invocation"
              if verdict.reused_runs else "")
    return (f"{verdict.base.name} → {verdict.candidate.name} ({verdict.backend}): {outcome} "
            f"(exit {verdict.exit_status}; {verdict.wall_seconds / 60:.1f} min on {verdict.machine}{reused})")


FIGURE_CAPTION = ("Per model: the paired accuracy difference and the step-time ratio, with their intervals "
                  "(grey identical, blue same, green better or faster, red worse or SLOWER; dashed: "
                  "the SLOWER threshold)")


def blocks(verdict: Verdict, figure: Path | None = None) -> list:
    """The page as the report's blocks, rendered by its Markdown and HTML renderers; ``figure``
    (``report.plots.plot_upgrade``'s PNG) below the headline when given."""
    from mnist_mlp.report.blocks import Figure, Heading, Paragraph, Table
    from mnist_mlp.report.blocks import Verdict as VerdictLine

    page = [Heading(1, f"Upgrade verdict: {verdict.base.name} → {verdict.candidate.name}"),
            VerdictLine("verdict", headline(verdict))]
    if verdict.lock_changes:
        page.append(Paragraph("Lock changes: " + ", ".join(verdict.lock_changes)))
    if figure is not None:
        page.append(Figure(figure, FIGURE_CAPTION))
    for title, header, rows in tables(verdict):
        page += [Heading(2, title), Table(tuple(header), tuple(tuple(r) for r in rows))]
    return page


def markdown(verdict: Verdict, figure: Path | None = None, folder: Path = Path(".")) -> str:
    """The page as Markdown; ``figure`` linked relative to ``folder``, where the page is written."""
    from mnist_mlp.report.markdown import render_markdown
    return render_markdown(blocks(verdict, figure), folder)


def to_html(verdict: Verdict, figure: Path | None = None) -> str:
    """The page as one HTML file (``figure`` embedded)."""
    from mnist_mlp.report.html import render_html
    return render_html(blocks(verdict, figure),
                       f"Upgrade verdict: {verdict.base.name} → {verdict.candidate.name}")
