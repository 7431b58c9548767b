"""gan_cli/evaluate/metric_names.py: the catalogue of eval.json's metric names stays true.

Every name in it is written by a module of gan_cli/evaluate (a string literal there), so no name
outlives its metric; the other way round, the evaluations of tests/test_commands_eval.py (1-D, 2-D,
digits) and the Stacked MNIST one of tests/test_evaluate_feature_net.py check that every metric they
report is in the catalogue."""

from __future__ import annotations

import re

from helpers import REPO

from gan_cli.evaluate.metric_names import METRIC_NAMES


def test_every_name_is_written_by_an_evaluation_module() -> None:
    sources = "\n".join(
        p.read_text(encoding="utf-8") for p in (REPO / "gan_cli" / "evaluate").glob("*.py") if p.name != "metric_names.py"
    )
    written = set(re.findall(r'"([a-z_0-9]+)"', sources))
    assert set(METRIC_NAMES) <= written, sorted(set(METRIC_NAMES) - written)


def test_the_names_are_identifiers_with_a_scope() -> None:
    assert all(re.fullmatch(r"[a-z][a-z_0-9]*", name) and scope for name, scope in METRIC_NAMES.items())
