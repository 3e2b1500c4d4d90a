"""Plumbing every notebook uses: settings, device, the model registry, loading, generating, pictures.

Nothing in ``helpers.core`` imports the rest of ``helpers`` (tests/test_imports.py holds that).
"""
