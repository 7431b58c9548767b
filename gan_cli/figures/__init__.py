"""Every picture the tool draws; the only package that imports matplotlib (the Agg backend, set here).

  samples.py    `gan sample` and training's periodic pictures: image grids, the 1-D density
                picture, 2-D toy scatters over D's heat map (`draw`)
  density1d.py  the one 1-D panel: p_data, p_g, D and D* (its colours are documented there);
                also `gan eval`'s exact-density picture
  figure1.py    `gan plot figure1`: the paper's Figure 1 from the checkpoints of a 1-D run
  paper_grids.py `gan sample --nearest | --interpolate`: the paper's Figures 2 and 3
  curves.py     `gan plot curves`: training curves of a run directory

The layers below (gan_cli.sample, models, the estimators in evaluate/) compute and never import
this package at module level; the commands above call it.
"""

import matplotlib

matplotlib.use("Agg")
