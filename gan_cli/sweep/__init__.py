"""`gan sweep`: one config over seeds and a grid of --set values, run on Ray, summarised across seeds."""
