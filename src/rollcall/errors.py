"""Errors rollcall raises on purpose; the CLI and the portal turn them into messages and codes."""


class RollcallError(Exception):
    """A problem the user can fix; the message says how."""


class ImageError(RollcallError):
    """An image file that cannot be read (missing, corrupt, not an image, too large)."""


class ModelError(RollcallError):
    """A face model file that is missing or does not match its published digest."""


class EnrollmentRefused(RollcallError):
    """A photo that cannot serve as an enrollment template (no face, several, too small, blurry)."""


class NotFound(RollcallError):
    """A person, course or session that does not exist."""


class SourceError(RollcallError):
    """A video source that cannot be opened or has stopped delivering frames."""
