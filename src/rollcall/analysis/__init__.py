"""Analysis: one sample's frame -> faces, participants, identities -> the session's outcome."""

# How a session's source is watched (sessions.mode): a meeting's screen (gallery tiles, samples at
# random times), a classroom's fixed camera (one scene, samples at random times, pictures on the
# walls set aside), an entrance (every frame, people tracked as they walk past). Kept in a module
# that imports nothing, for the command line and the portal.
MODES = ("meeting", "classroom", "entrance")
