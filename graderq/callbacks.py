"""`graderq.callbacks.verify(body, header, secret)`: the documented path of a webhook
receiver's check.

Callbacks live in graderq.queue.callbacks; this module only re-exports what a receiver
uses, so that receivers written against this path keep working. Nothing in graderq
imports it.
"""

from graderq.queue.callbacks import SIGNATURE_HEADER, sign, verify

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]
