"""How the bundled models were made: their parts, one training core, the training scripts, their evaluations and cards.

Run as modules, e.g. ``python -m helpers.training.train_mini_sd`` (see the Makefile).
"""
