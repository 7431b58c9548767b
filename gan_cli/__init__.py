"""gan-cli: generative adversarial nets as Goodfellow et al. (2014) introduced them."""

__version__ = "0.1.0"
