"""Transports: run commands on a host (:mod:`.local`, :mod:`.ssh`), one per host (:mod:`.pool`).

The seam itself (:class:`Transport`, :class:`Process`, :class:`Completed`) is :mod:`.base`.
"""

from bridge.transport.base import Completed, Process, ProcessTransport, Transport, decode, encode
from bridge.transport.pool import Pool

__all__ = ["Completed", "Pool", "Process", "ProcessTransport", "Transport", "decode", "encode"]
