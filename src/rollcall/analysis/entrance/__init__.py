"""Entrance mode: every frame tracked, people marked as they walk past."""

# Frames analysed a second (`run --fps`, `agent --fps`, the agent API's "fps"). Kept here, in a
# module that imports nothing, so the command line can check --fps without loading the networks.
DEFAULT_FPS, MIN_FPS, MAX_FPS = 8.0, 1.0, 30.0
