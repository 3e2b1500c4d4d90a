"""Tools of 09_editing_and_personalization: DDIM inversion, textual inversion and LoRA.
"""
