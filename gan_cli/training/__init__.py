"""Training: Algorithm 1 and the released update (loop), speed options (accel), the NaN guard,
model selection, the console and the `gan train` command."""
