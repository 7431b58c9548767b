"""Estimators of `gan eval` (value, critic, density, modes, images, parzen), its report and command."""
