"""Uploads checked by content, not by name: PDF, JPEG and PNG only, no active content, size limits."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from chu_portal.errors import InvalidInput, ServiceError

PDF_MAGIC = b"%PDF-"
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# PDF names that run code or carry other files (JavaScript, launch actions, attachments, forms).
PDF_ACTIVE_MARKERS = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA", b"/SubmitForm")
MARKUP_MARKERS = (b"<html", b"<script", b"<svg", b"<!doctype", b"<?xml", b"<body", b"<iframe")
EXECUTABLE_MAGICS = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")


@dataclass(frozen=True)
class Inspected:
    mime_type: str
    extension: str
    size: int
    sha256: str
    # What to store when it is not the upload itself (an image re-encoded without its metadata).
    clean: bytes | None = None


def describe_rendered_pdf(content: bytes) -> Inspected:
    """Type, size and hash of a PDF the portal rendered itself from a signed report (dmp.pdf).

    Not an upload: its text is escaped by the renderer and it holds no active content (a test
    runs the renderer's output through inspect()), so the parser's walk is not repeated here.
    """
    if not content.startswith(PDF_MAGIC):
        raise ValueError("the rendered report is not a PDF")
    return Inspected(
        mime_type="application/pdf", extension=".pdf", size=len(content), sha256=hashlib.sha256(content).hexdigest()
    )


# PDF dictionary keys that run code, open other files or carry attachments, looked for by a real
# parser (qpdf through pikepdf): it undoes #xx name escapes and compressed object streams.
PDF_ACTIVE_KEYS = {
    "/JS",
    "/JavaScript",
    "/Launch",
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/RichMedia",
    "/XFA",
    "/SubmitForm",
    "/ImportData",
    "/GoToE",
    "/Sound",
    "/Movie",
}


def _pdf_is_active(data: bytes) -> bool:
    """True when the parsed PDF holds an active key; an unparsable PDF is refused as unsupported."""
    import pikepdf

    def active(obj, depth=0) -> bool:
        # Direct objects nested in a dictionary or an array are walked here; indirect ones are
        # visited on their own through pdf.objects (no reference is followed, so no cycle).
        if depth > 64:
            return True  # absurd nesting is itself suspicious
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        if isinstance(obj, pikepdf.Dictionary):
            if PDF_ACTIVE_KEYS.intersection(obj.keys()):
                return True
            if obj.get("/S") in (pikepdf.Name.JavaScript, pikepdf.Name.Launch):
                return True
            return any(
                not getattr(value, "is_indirect", True) and active(value, depth + 1) for _key, value in obj.items()
            )
        if isinstance(obj, pikepdf.Array):
            return any(not getattr(value, "is_indirect", True) and active(value, depth + 1) for value in obj)
        return False

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return any(active(obj) for obj in pdf.objects)
    except pikepdf.PdfError:
        _refuse("unsupported_file_type", 415, _("Ce PDF est illisible ou endommagé : il est refusé."))
    return False


def _image_reencoded(data: bytes, mime: str) -> bytes:
    """Decode the image fully and encode it again: what is stored is pixels only (no EXIF, no trailer)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.width * image.height > 80_000_000:
                _refuse("file_too_large", 413, _("Cette image est trop grande."))
            out = io.BytesIO()
            if mime == "image/jpeg":
                image.convert("RGB").save(out, format="JPEG", quality=92)
            else:
                image.save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        _refuse("unsupported_file_type", 415, _("Cette image est illisible ou endommagée : elle est refusée."))


def max_bytes() -> int:
    return settings.DMP_UPLOAD_MAX_BYTES


def clean_filename(name: str) -> str:
    """The user's file name, kept as metadata only; a path or a control character is refused."""
    name = (name or "").strip()
    if not name:
        return "document"
    if "/" in name or "\\" in name or ".." in name or any(ord(c) < 32 for c in name):
        raise InvalidInput(
            _("Nom de fichier invalide : il ne doit contenir ni chemin ni « .. »."), fields={"file": _("Nom invalide.")}
        )
    return name[:255]


def _refuse(code: str, status: int, message: str):
    raise ServiceError(message, code=code, status=status, fields={"file": message})


def inspect(uploaded) -> Inspected:
    """Check an uploaded file (a Django File): size, type by magic bytes, active content; hash it."""
    size = uploaded.size
    if size is None:
        uploaded.seek(0, 2)
        size = uploaded.tell()
    if size == 0:
        _refuse("empty_file", 400, _("Le fichier est vide."))
    limit = max_bytes()
    if size > limit:
        _refuse(
            "file_too_large",
            413,
            _("Le fichier dépasse la taille maximale de %(mb)s Mo.") % {"mb": limit // (1024 * 1024)},
        )
    uploaded.seek(0)
    head = uploaded.read(2048)
    lowered_head = head.lstrip().lower()
    if any(lowered_head.startswith(m) or m in lowered_head[:1024] for m in MARKUP_MARKERS):
        _refuse(
            "active_content",
            415,
            _("Les pages web et scripts ne sont pas acceptés : déposez un PDF, un JPEG ou un PNG."),
        )
    if head.startswith(PDF_MAGIC):
        mime, ext = "application/pdf", ".pdf"
    elif head.startswith(JPEG_MAGIC):
        mime, ext = "image/jpeg", ".jpg"
    elif head.startswith(PNG_MAGIC):
        mime, ext = "image/png", ".png"
    elif head.startswith(EXECUTABLE_MAGICS):
        _refuse(
            "unsupported_file_type",
            415,
            _("Ce fichier est un programme, pas un document : seuls les PDF, JPEG et PNG sont acceptés."),
        )
    else:
        _refuse(
            "unsupported_file_type", 415, _("Type de fichier non accepté : seuls les PDF, JPEG et PNG sont acceptés.")
        )
    digest = hashlib.sha256()
    uploaded.seek(0)
    tail = b""
    for chunk in uploaded.chunks() if hasattr(uploaded, "chunks") else iter(lambda: uploaded.read(65536), b""):
        digest.update(chunk)
        if mime == "application/pdf":
            window = tail + chunk
            if any(re.search(re.escape(m) + rb"(?![A-Za-z])", window) for m in PDF_ACTIVE_MARKERS):
                _refuse(
                    "active_content",
                    415,
                    _("Ce PDF contient du contenu actif (script, pièce jointe ou action) : il est refusé."),
                )
            tail = chunk[-32:]
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    if mime == "application/pdf":
        if _pdf_is_active(data):
            _refuse(
                "active_content",
                415,
                _("Ce PDF contient du contenu actif (script, pièce jointe ou action) : il est refusé."),
            )
        return Inspected(mime_type=mime, extension=ext, size=size, sha256=digest.hexdigest())
    clean = _image_reencoded(data, mime)
    return Inspected(
        mime_type=mime, extension=ext, size=len(clean), sha256=hashlib.sha256(clean).hexdigest(), clean=clean
    )
