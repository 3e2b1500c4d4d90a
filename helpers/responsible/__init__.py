"""Tools of 10_responsible_generation: watermarks, picture edits, a deepfake detector, Fréchet distance, spectra, the safety checker.
"""
