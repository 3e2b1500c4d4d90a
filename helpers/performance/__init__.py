"""Tools of 04 and 05 that measure cost: a U-Net call at a latent size, and time per picture.
"""
