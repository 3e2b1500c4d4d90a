"""Tools of 08_controlnet: edge maps for the canny ControlNet and pose control with the mini ControlNet.
"""
