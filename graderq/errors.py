"""The exceptions graderq raises; every one derives from GraderqError."""


class GraderqError(Exception):
    """Base class of every graderq error."""


class DockerError(GraderqError):
    """The Docker engine failed: unreachable daemon, missing image, API error."""


class DockerUnavailable(DockerError):
    """The Docker engine cannot be reached (down, restarting): worth trying again."""


class LimitError(GraderqError, ValueError):
    """A limit is unknown, malformed, or above the operator's ceiling."""


class VolumeInUse(DockerError):
    """A volume cannot be removed yet: a container still uses it."""


class WorkdirLost(GraderqError):
    """The Docker host that holds a working directory is gone (no live worker)."""


class DiskError(DockerError):
    """A sandbox's size-bounded disk cannot be made or removed (mkfs.ext4, loop devices)."""
