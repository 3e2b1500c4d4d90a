"""Tools of 04 and 05 that measure cost: a UNet call at a latent size, and time per picture.
"""
