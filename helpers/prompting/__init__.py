"""Tools of 05-07 that look at prompts: CLIP score, prompt grids, cross-attention maps, two-object outcomes.
"""
