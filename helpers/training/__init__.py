"""How the bundled models were made: their parts, the training scripts, the benchmark and the model cards.

Run as modules, e.g. ``python -m helpers.training.train_mini_sd`` (see the Makefile).
"""
