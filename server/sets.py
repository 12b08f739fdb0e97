"""Annotation sets derived from a task: golden frames and consensus replicas (docs/SCHEMA.md section 15).

A derived task is an ordinary task row whose id is its parent's plus a suffix:

    <parent>@golden    a manager's ground truth on some of the parent's frames (no jobs)
    <parent>@r1 .. @r9 replicas: the same frames labeled again by other people, one job per parent job

so every task route works on it unchanged. Table ``task_sets`` records the parent, the kind and
the golden frames. Scores and merges are the client's; the server stores the sets and guards the
golden one: only managers may see or change it.
"""

import random
import re

from server.review import with_article

GOLDEN = "golden"
REPLICA = "replica"
MIN_REPLICAS, MAX_REPLICAS = 2, 9
_DERIVED_RE = re.compile(r"(.+)@(?:(golden)|r([1-9]))")


class Refusal(Exception):
    """A sets request that cannot be taken: status, code, JSON pointer, message."""

    def __init__(self, status, code, where, message):
        super().__init__(message)
        self.status, self.code, self.where = status, code, where


# --------------------------------------------------------------------------- ids

def parse_derived(task_id):
    """(parent id, GOLDEN or REPLICA, replica number or None) of a derived id, else None."""
    m = _DERIVED_RE.fullmatch(task_id)
    if m is None:
        return None
    return (m.group(1), GOLDEN, None) if m.group(2) else (m.group(1), REPLICA, int(m.group(3)))


def golden_id(parent):
    return f"{parent}@golden"


def replica_id(parent, number):
    return f"{parent}@r{number}"


def is_route_task_id(task_id, task_id_re):
    """A task id a route accepts: a plain one, or a plain one with a set suffix."""
    if task_id_re.fullmatch(task_id):
        return True
    derived = parse_derived(task_id)
    return derived is not None and task_id_re.fullmatch(derived[0]) is not None


# --------------------------------------------------------------------------- who sees what

def is_golden(task_id):
    derived = parse_derived(task_id)
    return derived is not None and derived[1] == GOLDEN


def hidden_refusal(task_id, role):
    """Why ``role`` may not touch task ``task_id`` at all (a message), or None."""
    if not is_golden(task_id) or role == "manager":
        return None
    parent = parse_derived(task_id)[0]
    return f"the golden set of task {parent!r} is for managers; {with_article(role)} may not read or change it"


def listed(kind, role):
    """Whether GET /api/tasks shows a task of set ``kind`` (None: a plain task) to ``role``."""
    return kind != GOLDEN or role == "manager"


def manager_only_refusal(role, action):
    if role == "manager":
        return None
    return f"{with_article(role)} may not {action}; a manager may"


# --------------------------------------------------------------------------- requests

class GoldenPlan:
    __slots__ = ("frames", "document")

    def __init__(self, frames, document):
        self.frames, self.document = frames, document


class ReplicaPlan:
    __slots__ = ("count",)

    def __init__(self, count):
        self.count = count


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(where, message, code="invalid"):
    return Refusal(400, code, where, message)


def plan_request(body, task_id, frame_count, jobs):
    """The GoldenPlan or ReplicaPlan a POST .../sets body asks for; raises Refusal.

    ``frame_count`` is the parent's (None when a video's is not known); ``jobs`` its review.Jobs.
    """
    if not isinstance(body, dict):
        raise _invalid("", "expected a JSON object")
    kind = body.get("kind")
    if kind == "golden":
        _only_keys(body, ("kind", "frames", "per_job", "document"))
        return GoldenPlan(_golden_frames(body, task_id, frame_count, jobs), body.get("document"))
    if kind == "replicas":
        _only_keys(body, ("kind", "count"))
        count = body.get("count")
        if not _is_int(count) or not MIN_REPLICAS <= count <= MAX_REPLICAS:
            raise _invalid("/count", f"expected an integer from {MIN_REPLICAS} to {MAX_REPLICAS}")
        return ReplicaPlan(count)
    raise _invalid("/kind", "expected \"golden\" or \"replicas\"")


def _only_keys(body, allowed):
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise _invalid("/" + unknown[0], f"unknown key (a {body['kind']} request takes {', '.join(allowed[1:])})")


def _golden_frames(body, task_id, frame_count, jobs):
    if ("frames" in body) == ("per_job" in body):
        raise _invalid("", "give exactly one of frames or per_job")
    if frame_count is None:
        raise _invalid("", "the task's frame count is not known (a video without \"frames\")")
    if "frames" in body:
        return explicit_frames(body["frames"], frame_count)
    per_job = body["per_job"]
    if not _is_int(per_job) or per_job < 1:
        raise _invalid("/per_job", "expected an integer of at least 1")
    if not split_jobs(jobs):
        raise _invalid("/per_job", f"task {task_id!r} is not split into jobs: split it first "
                                   "(POST .../jobs) or give the golden frames", "no_jobs")
    return pick_frames(task_id, split_jobs(jobs), per_job, frame_count)


def explicit_frames(frames, frame_count):
    """The frames given, sorted; raises Refusal naming the first bad one."""
    if not isinstance(frames, list) or not frames:
        raise _invalid("/frames", "expected an array of at least one frame number")
    seen = set()
    for i, frame in enumerate(frames):
        if not _is_int(frame) or not 0 <= frame < frame_count:
            raise _invalid(f"/frames/{i}", f"expected a frame number from 0 to {frame_count - 1}")
        if frame in seen:
            raise _invalid(f"/frames/{i}", f"frame {frame} is given twice")
        seen.add(frame)
    return sorted(seen)


def split_jobs(jobs):
    """The jobs a task was split into; none when it holds only the job every new task starts with."""
    only = jobs.jobs[0] if len(jobs.jobs) == 1 else None
    if only is not None and only.id == 1 and only.start == 0 and only.stop is None:
        return []
    return jobs.jobs


def pick_frames(task_id, jobs, per_job, frame_count):
    """``per_job`` frames of each job (all of a smaller one), one from each of as many equal parts of
    its range, chosen by a generator seeded with the task and job ids: the same every time."""
    frames = set()
    for job in jobs:
        stop = frame_count - 1 if job.stop is None else min(job.stop, frame_count - 1)
        size = stop - job.start + 1
        if size < 1:
            continue
        count = min(per_job, size)
        chooser = random.Random(f"{task_id}:{job.id}")
        for part in range(count):
            lo = job.start + part * size // count
            hi = job.start + (part + 1) * size // count - 1
            frames.add(chooser.randint(lo, hi))
    return sorted(frames)


def frames_outside(document, golden_frames):
    """(JSON pointer, message) of the first shape of ``document`` on a frame that is not golden, or None.

    A track counts by its keyframes. Pointers are relative to the document.
    """
    golden = set(golden_frames)
    for i, item in enumerate(document.get("objects") or ()):
        if item.get("frame") not in golden:
            return (f"/objects/{i}/frame",
                    f"object {item.get('id')!r} is on frame {item.get('frame')}, not a golden frame")
    for i, item in enumerate(document.get("tracks") or ()):
        for k, keyframe in enumerate(item.get("keyframes") or ()):
            if keyframe.get("frame") not in golden:
                return (f"/tracks/{i}/keyframes/{k}/frame", f"track {item.get('id')!r} has a keyframe on "
                        f"frame {keyframe.get('frame')}, not a golden frame")
    return None


def derived_task(parent_task, task_id):
    """The stored task JSON of a set: the parent's, under its own id (the media stay the parent's)."""
    return dict(parent_task, id=task_id)


