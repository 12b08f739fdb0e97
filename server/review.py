"""Review: roles, jobs and their stages, and who may change what (docs/SCHEMA.md, section 13).

A task's frames are split into jobs (contiguous frame ranges). Each job is in one stage:

    annotation --(labeler submits)--> review --(reviewer accepts)--> accepted
        ^                               |
        +----(reviewer returns it, with open issues)

and a manager may move any job anywhere. Who may write what depends on the writer's role, the
stage of every job the write touches and the job's assignee and reviewer. The rules are tables
below; ``check_writes`` applies them inside the write transaction, on the stored state, so two
servers sharing a database enforce the same thing.
"""

import bisect
import time

ROLES = ("labeler", "reviewer", "manager")
STAGES = ("annotation", "review", "accepted")
ANNOTATION_KINDS = ("object", "track")
REVIEW_KINDS = ("issue", "comment", "decision")

# Who may create, change or delete objects and tracks on a job's frames, by the job's stage.
EDITORS = {"annotation": ("labeler", "manager"), "review": ("reviewer", "manager"), "accepted": ("manager",)}
# Who may open, change or delete issues and record decisions on a job's frames, by its stage.
JUDGES = {"annotation": ("manager",), "review": ("reviewer", "manager"), "accepted": ("manager",)}
# Comments: every role at every stage (a labeler answers the reviewer while fixing).
COMMENTERS = {stage: ROLES for stage in STAGES}
# Who may move a job from one stage to another.
MOVES = {
    ("annotation", "review"): ("labeler", "manager"),
    ("review", "accepted"): ("reviewer", "manager"),
    ("review", "annotation"): ("reviewer", "manager"),
    ("annotation", "accepted"): ("manager",),
    ("accepted", "review"): ("manager",),
    ("accepted", "annotation"): ("manager",),
}


class Principal:
    """Who makes a request: a user name (None when nobody said), one of ROLES, and the device."""

    __slots__ = ("user", "role", "device")

    def __init__(self, user, role, device=None):
        self.user, self.role, self.device = user, role, device


def with_article(role):
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def _or(roles):
    names = [with_article(r) for r in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# --------------------------------------------------------------------------- jobs

class Job:
    __slots__ = ("id", "start", "stop", "stage", "assignee", "reviewer", "reviewed_revision")

    def __init__(self, job_id, start, stop, stage, assignee, reviewer, reviewed_revision):
        self.id, self.start, self.stop, self.stage = job_id, start, stop, stage
        self.assignee, self.reviewer, self.reviewed_revision = assignee, reviewer, reviewed_revision

    def frames_text(self):
        return f"frames {self.start}-{self.stop}" if self.stop is not None else f"frames {self.start} on"

    def to_json(self):
        return {"id": self.id, "start_frame": self.start, "stop_frame": self.stop, "stage": self.stage,
                "assignee": self.assignee, "reviewer": self.reviewer,
                "reviewed_revision": self.reviewed_revision}


class Jobs:
    """A task's jobs in frame order; frames past the last stop belong to no job."""

    def __init__(self, jobs):
        self.jobs = sorted(jobs, key=lambda j: j.start)
        self.starts = [j.start for j in self.jobs]

    def over(self, lo, hi):
        """The jobs holding any frame in [lo, hi]."""
        at = max(bisect.bisect_right(self.starts, lo) - 1, 0)
        out = []
        for job in self.jobs[at:]:
            if job.start > hi:
                break
            if job.stop is None or job.stop >= lo:
                out.append(job)
        return out

    def at(self, frame):
        found = self.over(frame, frame)
        return found[0] if found else None

    def by_id(self, job_id):
        return next((j for j in self.jobs if j.id == job_id), None)


def now_text():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (now % 1 * 1000)


def plan_jobs(body, spans):
    """The job ranges a split asks for: [(start, stop or None, assignee, reviewer)], or (pointer, message).

    ``body`` is {"frames_per_job": N} | {"per_medium": true} | {"jobs": [{"start_frame", "stop_frame",
    "assignee", "reviewer"}]}; ``spans`` is [(first, end)] of each medium (serve.py's _media_spans).
    Ranges must cover frame 0 onwards without gap or overlap; the last may be open (stop null).
    """
    if not isinstance(body, dict):
        return ("", "expected a JSON object")
    unknown = set(body) - {"frames_per_job", "per_medium", "jobs"}
    if unknown:
        return ("/" + sorted(unknown)[0], "unknown key")
    if len(body) != 1:
        return ("", "give exactly one of frames_per_job, per_medium or jobs")
    total = spans[-1][1] if spans else 0
    if "frames_per_job" in body:
        size = body["frames_per_job"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            return ("/frames_per_job", "expected an integer of at least 1")
        if not total:
            return ("", "the task's frame count is not known (a video without \"frames\")")
        return [(start, min(start + size, total) - 1, None, None) for start in range(0, total, size)]
    if "per_medium" in body:
        if body["per_medium"] is not True:
            return ("/per_medium", "expected true")
        if not spans:
            return ("", "the task's frame count is not known (a video without \"frames\")")
        return [(first, end - 1, None, None) for first, end in spans]
    jobs = body["jobs"]
    if not isinstance(jobs, list) or not jobs or len(jobs) > 100000:
        return ("/jobs", "expected an array of 1 to 100000 jobs")
    out, expected = [], 0
    for i, job in enumerate(jobs):
        if not isinstance(job, dict) or set(job) - {"start_frame", "stop_frame", "assignee", "reviewer"}:
            return (f"/jobs/{i}", "expected {start_frame, stop_frame, assignee?, reviewer?}")
        start, stop = job.get("start_frame"), job.get("stop_frame")
        if start != expected or isinstance(start, bool):
            return (f"/jobs/{i}/start_frame", f"expected {expected} (jobs cover the frames in order, without gaps)")
        last = i == len(jobs) - 1
        if stop is None and not last:
            return (f"/jobs/{i}/stop_frame", "only the last job may run to the end")
        if stop is not None and (not isinstance(stop, int) or isinstance(stop, bool) or stop < start):
            return (f"/jobs/{i}/stop_frame", f"expected an integer of at least {start}")
        for key in ("assignee", "reviewer"):
            if job.get(key) is not None and (not isinstance(job[key], str) or not 0 < len(job[key]) <= 128):
                return (f"/jobs/{i}/{key}", "expected a user name (1 to 128 characters) or null")
        out.append((start, stop, job.get("assignee"), job.get("reviewer")))
        expected = None if stop is None else stop + 1
    return out


def move_refusal(principal, job, to_stage):
    """Why ``principal`` may not move ``job`` to ``to_stage`` (a message), or None."""
    roles = MOVES.get((job.stage, to_stage))
    if roles is None:
        return f"job {job.id} is in stage {job.stage}; it cannot move to {to_stage}"
    if principal.role not in roles:
        return (f"{with_article(principal.role)} may not move job {job.id} from stage {job.stage} to {to_stage}; "
                f"{_or(roles)} may")
    return assignment_refusal(principal, job)


def assignment_refusal(principal, job):
    if principal.role == "labeler" and job.assignee is not None and principal.user != job.assignee:
        return f"job {job.id} ({job.frames_text()}) is assigned to {job.assignee!r}, not to {principal.user!r}"
    if principal.role == "reviewer" and job.reviewer is not None and principal.user != job.reviewer:
        return f"job {job.id} ({job.frames_text()}) is reviewed by {job.reviewer!r}, not by {principal.user!r}"
    return None


# --------------------------------------------------------------------------- writes

def item_span(kind, value):
    """(first, last) frame an item lies on, or None (a comment: its issue's; a value without frames)."""
    if not isinstance(value, dict):
        return None
    if kind == "track":
        frames = [kf.get("frame") for kf in value.get("keyframes") or () if isinstance(kf, dict)]
        frames = [int(f) for f in frames if isinstance(f, (int, float)) and not isinstance(f, bool)]
        return (min(frames), max(frames)) if frames else None
    frame = value.get("frame")
    if isinstance(frame, (int, float)) and not isinstance(frame, bool):
        return int(frame), int(frame)
    return None


class Touch:
    """One item a write creates, changes or deletes, as check_writes sees it."""

    __slots__ = ("where", "kind", "verb", "id", "old_span", "old_value", "new_span", "new_value")

    def __init__(self, where, kind, verb, item_id, old_span, old_value, new_span, new_value):
        self.where, self.kind, self.verb, self.id = where, kind, verb, item_id
        self.old_span, self.old_value, self.new_span, self.new_value = old_span, old_value, new_span, new_value


def _verb_text(touch):
    return {"create": "create", "update": "change", "delete": "delete"}[touch.verb]


def check_writes(jobs, principal, touches, stored):
    """(refusal, stages) for a write's ``touches``, in order, on the task whose jobs are ``jobs``.

    ``refusal`` is the first one refused, as ("forbidden" | "unknown_reference", pointer, message), or None;
    ``stages`` the stage each touch was made in (that of the job of its first frame, or None).
    ``stored(id)`` is (kind, span) of a live stored item, or None; touches see the ones before them.
    Creates of issues, comments and decisions name the writer as their author; an author never
    changes; a comment or decision is changed or deleted by its author or a manager; a comment
    answers a live issue and lies on its frame; a decision judges a live object or track.
    """
    state = {}  # id -> (kind, span) or None, as the touches so far leave it

    def live(item_id):
        return state[item_id] if item_id in state else stored(item_id)

    stages, refusal = [], None
    for t in touches:
        spans = [s for s in (t.old_span, t.new_span) if s]
        value = t.new_value or t.old_value or {}
        target = None
        if t.kind in ("comment", "decision"):
            key, wanted = ("issue", ("issue",)) if t.kind == "comment" else ("item", ANNOTATION_KINDS)
            target = live(value.get(key))
            if t.kind == "comment":
                spans = [target[1]] if target and target[1] else []
            if refusal is None and t.verb != "delete" and (target is None or target[0] not in wanted):
                refusal = ("unknown_reference", t.where + f"/value/{key}",
                           f"{t.kind} {t.id!r}: {key} {value.get(key)!r} is not a live "
                           f"{' or '.join(wanted)} of this task")
        state[t.id] = None if t.verb == "delete" else (t.kind, t.new_span)
        first = jobs.at(min(s[0] for s in spans)) if spans else None
        stages.append(first.stage if first else None)
        if refusal is not None or principal.role == "manager" and t.kind in ANNOTATION_KINDS:
            continue
        touched = {j.id: j for lo, hi in spans for j in jobs.over(lo, hi)}
        message = _authorship_refusal(principal, t) or next(
            (r for r in (_job_refusal(principal, t, job) for job in touched.values()) if r), None)
        if message:
            refusal = ("forbidden", t.where, message)
    return refusal, stages


def _authorship_refusal(principal, t):
    if t.kind not in REVIEW_KINDS:
        return None
    what = f"{t.kind} {t.id!r}"
    if t.verb == "create" and principal.user is not None and t.new_value.get("author") != principal.user:
        return f"{what}: author must be the writer, {principal.user!r}, not {t.new_value.get('author')!r}"
    if t.verb == "update" and t.old_value is not None and t.new_value.get("author") != t.old_value.get("author"):
        return f"{what}: the author ({t.old_value.get('author')!r}) cannot change"
    if (t.verb != "create" and t.kind in ("comment", "decision") and principal.role != "manager"
            and t.old_value is not None and t.old_value.get("author") != principal.user):
        return f"{what} is {t.old_value.get('author')!r}'s: only they or a manager may {_verb_text(t)} it"
    return None


def _job_refusal(principal, t, job):
    table = EDITORS if t.kind in ANNOTATION_KINDS else COMMENTERS if t.kind == "comment" else JUDGES
    roles = table[job.stage]
    if principal.role not in roles:
        things = {"object": "objects", "track": "tracks", "issue": "issues", "comment": "comments",
                  "decision": "review decisions"}[t.kind]
        return (f"{t.kind} {t.id!r}: {with_article(principal.role)} may not {_verb_text(t)} {things} on "
                f"{job.frames_text()} (job {job.id}) in stage {job.stage}; {_or(roles)} may")
    if principal.role == "manager":
        return None
    return assignment_refusal(principal, job)
