"""Loaded once by the local batch's fork server, before it forks the worker processes.

``evalkit batch`` starts its workers with multiprocessing's ``forkserver`` method and names this
module as the server's preload: every worker is then forked with papermill, jupyter_client,
nbconvert and its page templates, the font subsetter and the privacy scan already loaded, instead
of loading them itself (about 2.5 s of CPU per worker; see :func:`evalkit.execute.preload_worker`).
Importing it has that one effect; nothing else imports it.
"""

from .execute import preload_worker

try:
    preload_worker()
except Exception:  # noqa: BLE001 - the fork server must start anyway: each worker then meets the failure itself
    pass
