"""What uploaded media is: decided by its bytes, never by its name (docs/SERVER.md)."""

# [SECTION] What uploaded media is: decided by its bytes, never by its name
MEDIA_SNIFF_BYTES = 64
MEDIA_CSP = "default-src 'none'; sandbox"
MEDIA_FORMATS = "PNG, JPEG, WebP, AVIF, GIF, MP4 or WebM"
_IMAGE_BRANDS = {b"avif": "AVIF", b"avis": "AVIF"}
_UNSUPPORTED_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
                       b"crx ", b"jp2 ", b"jpx "}


def sniff_media(head):
    """(kind, format name, MIME type) of a media file from its first bytes, or None.

    Only formats a browser decodes as pixels are known: a file that could be a document (HTML,
    SVG, XML, PDF, script) is not media, whatever its name says.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "PNG", "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "JPEG", "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "GIF", "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "WebP", "image/webp"
    if head[4:8] == b"ftyp":
        size = int.from_bytes(head[:4], "big")
        if size < 16 or size % 4:
            return None
        brands = [head[i:i + 4] for i in range(8, min(size, len(head)), 4) if i != 12]
        if any(b in _IMAGE_BRANDS for b in brands):
            return "image", "AVIF", "image/avif"
        if any(b in _UNSUPPORTED_BRANDS for b in brands[:1]):
            return None
        return "video", "MP4", "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        doc_type = head.find(b"\x42\x82")  # the EBML DocType element, then its size and text
        if doc_type > 0 and b"webm" in head[doc_type + 2:doc_type + 12]:
            return "video", "WebM", "video/webm"
    return None


def describe_non_media(head):
    """A few words on what a refused file looks like, for the error message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for marker, what in ((b"<!doctype html", "HTML"), (b"<html", "HTML"), (b"<svg", "SVG"),
                         (b"<?xml", "XML"), (b"%pdf", "PDF"), (b"<", "markup")):
        if text.startswith(marker):
            return what
    if not head:
        return "an empty file"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "Matroska, not WebM"
    if head[4:8] == b"ftyp":
        return "HEIF/HEIC or another ISO media file that browsers do not show"
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return "text"
    return "an unknown format"


def check_media_file(path, expected_kind):
    """None when the file at path is an image (or video) browsers show, else why not."""
    try:
        with open(path, "rb") as f:
            head = f.read(MEDIA_SNIFF_BYTES)
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    found = sniff_media(head)
    if found is None:
        return f"is not {MEDIA_FORMATS} (its bytes look like {describe_non_media(head)})"
    kind, name, _ = found
    if kind != expected_kind:
        return f"is {'an' if kind == 'image' else 'a'} {kind} ({name}), not {'an' if expected_kind == 'image' else 'a'} {expected_kind}"
    return None


def media_headers(f):
    """Headers of a file under /media/: its type from its bytes (never a document type), and a
    sandbox so that even a file a browser is tricked into opening runs no script on our origin."""
    head = f.read(MEDIA_SNIFF_BYTES)
    f.seek(0)
    found = sniff_media(head)
    headers = {"Content-Type": found[2] if found else "application/octet-stream",
               "Content-Security-Policy": MEDIA_CSP}
    if not found:
        headers["Content-Disposition"] = "attachment"
    return headers
