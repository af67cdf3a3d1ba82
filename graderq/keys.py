"""Every Redis key graderq writes itself (Celery's own keys are Celery's)."""

DELIVERIES = "graderq:deliveries:"
"""+ task id: how many times a worker started this task (a counter with a TTL)."""
NODE_HEARTBEAT = "graderq:node:"
"""+ node: present while a worker attached to that Docker host is alive."""
