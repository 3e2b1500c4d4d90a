"""Widgets for class: the prompt playground and the pose editor.

Presenter mode is display plumbing that core's pictures use, so it lives in helpers.core.presenter.
"""
