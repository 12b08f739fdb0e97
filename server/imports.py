"""Task imports: --import DIR and POST /api/tasks (checks, media copies, the store)."""

import base64
import binascii
import filecmp
import os
import shutil
import tempfile
import threading

from . import guidelines
from . import review
from .errors import ImportFailure
from .validation import (_Checker, canonical_json, check_relative_file, empty_document, load_json_file,
                         pointer, validate_document, validate_task)

def copy_media(files, dest_dir):
    """Copy (source, rel name) pairs below dest_dir; unchanged copies are skipped."""
    for source, rel in files:
        dest = os.path.join(dest_dir, *rel.split("/"))
        st = os.stat(source)
        try:
            dt = os.stat(dest)
            if dt.st_size == st.st_size and int(dt.st_mtime) == int(st.st_mtime):
                continue
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".importing"
        shutil.copy2(source, tmp)
        os.replace(tmp, dest)
_IMPORT_LOCK = threading.Lock()  # one import at a time: check, copy media, store


def import_task(store, raw_task, raw_document, where, media_root, replace=True):
    """Validate and store one task; the single import path of --import and POST /api/tasks.

    ``where`` says where things come from: "task_label"/"document_label" (names
    in messages), "task_prefix"/"document_prefix" (JSON pointer prefixes),
    "dir" (where media files are) and "dir_label". Returns (task, outcome),
    outcome as Store.put_task. With ``replace=False`` a task id that exists
    with other content (task JSON or media bytes) is "different" and nothing
    is written. Raises ImportFailure.
    """
    task, files = validate_task(raw_task, where["task_label"], where["dir"],
                                where.get("task_prefix", ""), where.get("dir_label"))
    if raw_document is None:
        document = empty_document()
    else:
        document = validate_document(raw_document, where["document_label"], task["id"],
                                     where.get("document_prefix", ""))
    dest = os.path.join(media_root, task["id"])
    with _IMPORT_LOCK:
        if not replace:
            stored = store.get_task(task["id"])
            if stored is not None:
                same = canonical_json(stored) == canonical_json(task) and all(
                    os.path.isfile(os.path.join(dest, *rel.split("/")))
                    and filecmp.cmp(source, os.path.join(dest, *rel.split("/")), shallow=False)
                    for source, rel in files)
                return task, "unchanged" if same else "different"
        try:
            copy_media(files, dest)
        except OSError as e:
            raise ImportFailure(f"{where['dir_label'] or where['dir']}: copying media for task "
                                f"{task['id']!r} failed: {e}") from e
        return task, store.put_task(task, document, replace)


def import_task_dir(store, task_dir, media_root, log):
    """Import one task directory into the store; raises ImportFailure."""
    task_path = os.path.join(task_dir, "task.json")
    if not os.path.isdir(task_dir):
        raise ImportFailure(f"{task_dir}: not a directory")
    raw_task = load_json_file(task_path)
    doc_path = os.path.join(task_dir, "annotations.json")
    raw_document = load_json_file(doc_path) if os.path.exists(doc_path) else None
    plan = read_guidelines_dir(task_dir)  # checked before anything is written
    task, outcome = import_task(store, raw_task, raw_document,
                                {"task_label": task_path, "document_label": doc_path,
                                 "dir": task_dir, "dir_label": task_dir}, media_root)
    if outcome == "updated":
        log(f"polymark: task {task['id']!r} changed in {task_path}: task replaced, "
            "annotations kept")
    elif outcome == "created":
        log(f"polymark: imported task {task['id']!r} from {task_dir}")
    if plan is not None:
        who = review.Principal(GUIDELINES_IMPORT_AUTHOR, "manager")
        _, version, created = store.put_guidelines(task["id"], plan, who)
        if created:
            log(f"polymark: task {task['id']!r}: guidelines version {version} from {task_dir}")
    return outcome


GUIDELINES_IMPORT_AUTHOR = "serve.py --import"


def read_guidelines_dir(task_dir):
    """A task directory's ``guidelines.md`` and ``guidelines/`` images as a plan for
    server/guidelines.py, or None without ``guidelines.md``; raises ImportFailure naming the file."""
    text_path = os.path.join(task_dir, "guidelines.md")
    if not os.path.exists(text_path):
        return None
    try:
        with open(text_path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ImportFailure(f"{text_path}: cannot be read as UTF-8 text: {e}") from e
    files = []
    folder = os.path.join(task_dir, "guidelines")
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.startswith("."):
                continue  # editors' and systems' hidden files
            if not os.path.isfile(path):
                raise ImportFailure(f"{path}: not a file (the guidelines folder holds example images only)")
            with open(path, "rb") as f:
                files.append((name, f.read(guidelines.FILE_BYTES + 1)))
    try:
        return guidelines.plan_import(text.lstrip("\ufeff"), files, text_path)
    except guidelines.Refusal as e:
        raise ImportFailure(str(e), e.code) from None


def import_task_upload(store, body, media_root):
    """POST /api/tasks: {"task", "files": {name: base64}, "annotations"?} -> (task, outcome).

    File names get the same checks as a task's media names before anything
    touches the disk; the files are then staged in a temporary directory and
    imported through import_task like an --import directory.
    """
    ck = _Checker("request body")
    if not isinstance(body, dict):
        ck.fail("", "expected a JSON object", "not_object")
    ck.keys(body, "", ("task", "files", "annotations"))
    raw_task = ck.require(body, "", "task")
    files = ck.object(body.get("files", {}), "/files")
    decoded = []
    for name, data in files.items():
        ptr = pointer("files", name)
        problem = check_relative_file(name)
        if problem:
            ck.fail(ptr, f"unsafe file name {name!r}: {problem}", "bad_file_name")
        try:
            decoded.append((name, base64.b64decode(ck.string(data, ptr), validate=True)))
        except (binascii.Error, ValueError):
            ck.fail(ptr, "not base64 data", "bad_base64")
    staging = tempfile.mkdtemp(prefix="polymark-upload-")
    try:
        for name, data in decoded:
            path = os.path.join(staging, *name.split("/"))
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "xb") as f:
                    f.write(data)
            except OSError as e:
                ck.fail(pointer("files", name), f"cannot store file {name!r}: {e.strerror}",
                        "bad_file_name")
        return import_task(store, raw_task, body.get("annotations"),
                           {"task_label": "request body", "task_prefix": "/task",
                            "document_label": "request body", "document_prefix": "/annotations",
                            "dir": staging, "dir_label": "the request's files"},
                           media_root, replace=False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
