"""The exceptions graderq raises; every one derives from GraderqError."""


class GraderqError(Exception):
    """Base class of every graderq error."""


class DockerError(GraderqError):
    """The Docker engine failed: unreachable daemon, missing image, API error."""


class LimitError(GraderqError, ValueError):
    """A limit is unknown, malformed, or above the operator's ceiling."""
