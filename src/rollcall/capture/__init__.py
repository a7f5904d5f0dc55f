"""Capture: where the video is; frame sources (vision.sources) and the agent that uploads them."""
