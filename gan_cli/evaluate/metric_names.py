"""Every metric `gan eval` can write into eval.json's "metrics", with the data it applies to.

`gan sweep` checks its `metric` and `metrics` against these before any trial runs: a misspelt
name used to cost a whole sweep its figure and its table's rows, said only once every trial had
finished. tests/test_evaluate_metric_names.py keeps the list true both ways: every name here is
written by a module of gan_cli/evaluate, and every evaluation the test suite runs reports no other.
"""

from __future__ import annotations

METRIC_NAMES: dict[str, str] = {
    # every checkpoint (gan_cli/evaluate/measure.py)
    "value": "all data",
    "d_real": "all data",
    "d_fake": "all data",
    "jsd_value_bound": "all data",
    "jsd_critic": "all data",
    # a known p_data (known_target.py)
    "jsd_exact": "toy data",
    "value_optimal": "toy data",
    "value_gap": "toy data",
    "w1": "toy data",
    "d_max_dev": "1-D toy data",
    "modes_captured": "mixtures and stacked-mnist",
    "high_quality": "mixtures",
    "reverse_kl": "mixtures and stacked-mnist",
    "mode_jsd": "mixtures",
    # images (image_likelihood.py)
    "parzen_ll": "images",
    "nn_distance_ratio": "images",
    # features of a labelled dataset (feature_scores.py) and Inception's (inception.py)
    "fid": "labelled images",
    "kid": "labelled images",
    "precision": "labelled images",
    "recall": "labelled images",
    "density": "labelled images",
    "coverage": "labelled images",
    "classes_covered": "labelled images",
    "class_kl": "labelled images",
    "inception_fid": "3-channel images, eval.features.inception",
    "inception_kid": "3-channel images, eval.features.inception",
}
"""Metric name -> the data it is reported for."""
