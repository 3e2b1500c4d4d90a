"""The T4 budget (for maintainers): count a notebook's model calls and estimate its time and memory on a T4.
"""
