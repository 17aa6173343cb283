"""Training and evaluation as in the paper (section IV): Adam, cross-entropy, best validation."""
