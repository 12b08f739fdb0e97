"""The work queue (docs/SCHEMA.md section 16): ``next`` hands a labeler a job with a lease.

Jobs (server/review.py) in stage annotation are the work. A lease is a user and an expiry time on
the job's row: saving renews it, a submit or a skip ends it, an expired one is simply passed over
by the next ``next``, so the job is back in the queue without anything running to expire it. The
rules run inside the store's write transactions (their SQL: server/store_queue.py), on both stores,
in the database alone: a user's row in queue_users is locked first (one ``next`` of a user at a time, across processes), and a job
is granted by an UPDATE whose WHERE still requires it to be free, so two processes never grant
one job twice. Times are seconds since the epoch from the clocks of the serve.py machines.
"""

import math
import time

DEFAULT_LEASE_SECONDS = 300
DEFAULT_GOLDEN_RATE = 0.1
MAX_REASON = 500


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % (seconds % 1 * 1000)


def next_refusal(who):
    if who.role == "reviewer":
        return "a reviewer is not handed annotation jobs; a labeler or a manager is"
    if not who.user:
        return "the queue hands jobs to a named user: send 'user' (or X-Polymark-User), or a token naming one"
    return None


def golden_due(grants, rate):
    """Whether a user's grant number ``grants`` (from 0) is one of the golden ones: ``rate`` of them,
    spread evenly (rate 0.25: the 4th, 8th, ...)."""
    return math.floor((grants + 1) * rate + 1e-9) > math.floor(grants * rate + 1e-9)


def holds_golden(frames, start, stop):
    return any(f >= start and (stop is None or f <= stop) for f in frames)


def lease_reply(task_id, job_id, start, stop, priority, until, lease_seconds):
    return {"job": {"task": task_id, "id": job_id, "start_frame": start, "stop_frame": stop, "priority": priority},
            "lease": {"until": iso(until), "seconds": lease_seconds}}


