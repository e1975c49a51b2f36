"""Uploads checked by content, not by name: PDF, JPEG and PNG only, no active content, size limits."""

from __future__ import annotations

import hashlib
import io
import re
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from chu_portal.errors import InvalidInput, ServiceError

PDF_MAGIC = b"%PDF-"
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# PDF names that run code or carry other files (JavaScript, launch actions, attachments, forms).
PDF_ACTIVE_MARKERS = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA", b"/SubmitForm")
MARKUP_MARKERS = (b"<html", b"<script", b"<svg", b"<!doctype", b"<?xml", b"<body", b"<iframe")
# Looked for anywhere in the file (a PDF's XMP metadata may hold "<?xml": only at the start it counts).
MARKUP_ANYWHERE = tuple(m for m in MARKUP_MARKERS if m != b"<?xml")
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


def storage_name(extension: str, prefix: str = "dmp") -> str:
    """A random storage name under `prefix` (the name a user gave is metadata only, docs/domain.md "Uploads").

    `dmp/` holds the DMP's documents (the orphan-file sweep walks it); other apps store under their own prefix."""
    return f"{prefix}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{extension}"


def store(content, extension: str, prefix: str = "dmp", name: str | None = None) -> str:
    """Write a file (a Django File) to the default storage under a random name; the name it was stored under."""
    return default_storage.save(name or storage_name(extension, prefix), content)


ACTIVE_PDF_MESSAGE = _(
    "Ce PDF contient du contenu actif (script, formulaire, pièce jointe, lien externe ou action) : il est refusé."
)

# PDF dictionary keys that run code, open other files, carry attachments or forms, looked for by a
# real parser (qpdf through pikepdf): it undoes #xx name escapes and compressed object streams.
PDF_ACTIVE_KEYS = {
    "/JS",
    "/JavaScript",
    "/Launch",
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/EF",
    "/RichMedia",
    "/XFA",
    "/AcroForm",
    "/SubmitForm",
    "/ImportData",
    "/GoToE",
    "/Sound",
    "/Movie",
}
# Action types allowed: navigation inside the document only. Any other (/URI, /GoToR, /Launch,
# /SubmitForm, /ImportData, /ResetForm, /Rendition, /JavaScript, /Hide, /SetOCGState...) is refused.
PDF_ALLOWED_ACTIONS = {"/GoTo", "/Named"}
PDF_ALLOWED_NAMED = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
# Keys whose value is an action (or, for /AA, a dictionary of actions; /Next may be an array).
PDF_ACTION_KEYS = {"/A", "/OpenAction", "/Next", "/PA"}
# Annotations that are forms, media, attachments or 3D content.
PDF_REFUSED_ANNOTATIONS = {"/Widget", "/FileAttachment", "/Screen", "/Movie", "/Sound", "/RichMedia", "/3D"}


def _action_allowed(action) -> bool:
    import pikepdf

    if isinstance(action, pikepdf.Array):  # /OpenAction may be a destination; /Next a list of actions
        # A destination's array holds a page (a dictionary without /S): only actions are judged.
        return all(_action_allowed(item) for item in action if isinstance(item, pikepdf.Dictionary) and "/S" in item)
    if not isinstance(action, pikepdf.Dictionary):
        return True
    kind = str(action.get("/S", ""))
    if kind not in PDF_ALLOWED_ACTIONS:
        return False
    if kind == "/Named" and str(action.get("/N", "")) not in PDF_ALLOWED_NAMED:
        return False
    if kind == "/GoTo" and isinstance(action.get("/D"), pikepdf.Dictionary):
        return False  # a destination is a name, a string or an array, never a dictionary
    return "/Next" not in action or _action_allowed(action["/Next"])


def _dictionary_refused(obj) -> bool:
    import pikepdf

    keys = set(obj.keys())
    if PDF_ACTIVE_KEYS & keys:
        return True
    kind = str(obj.get("/Type", ""))
    if kind == "/Filespec":
        return True  # a file specification points outside the document (or carries one)
    if kind == "/Action" and not _action_allowed(obj):
        return True
    if str(obj.get("/Subtype", "")) in PDF_REFUSED_ANNOTATIONS:
        return True
    if "/F" in keys and ("/Length" in keys or "/FFilter" in keys):
        return True  # a stream whose data is an external file
    for key in PDF_ACTION_KEYS & keys:
        if not _action_allowed(obj[key]):
            return True
    if "/AA" in keys and isinstance(obj["/AA"], pikepdf.Dictionary):
        return any(not _action_allowed(value) for _trigger, value in obj["/AA"].items())
    return False


def _pdf_check(data: bytes) -> None:
    """Refuse a PDF with anything but navigation inside itself; refuse one too large or too long to
    inspect (DMP_UPLOAD_PDF_MAX_OBJECTS, DMP_UPLOAD_INSPECT_SECONDS); an unparsable one as unsupported."""
    import pikepdf

    deadline = time.monotonic() + settings.DMP_UPLOAD_INSPECT_SECONDS
    max_objects = settings.DMP_UPLOAD_PDF_MAX_OBJECTS
    too_complex = _(
        "Ce PDF est trop complexe pour être vérifié (plus de %(n)s objets, ou plus de %(s)s secondes) : "
        "il est refusé. Enregistrez-le à nouveau (« imprimer en PDF ») ou déposez une version plus simple."
    ) % {"n": max_objects, "s": settings.DMP_UPLOAD_INSPECT_SECONDS}

    def walk(obj, depth=0) -> bool:
        # Direct objects nested in a dictionary or an array are walked here; indirect ones are
        # visited on their own through pdf.objects (no reference is followed, so no cycle).
        if depth > 64:
            return True  # absurd nesting is itself suspicious
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        if isinstance(obj, pikepdf.Dictionary):
            if _dictionary_refused(obj):
                return True
            return any(
                not getattr(value, "is_indirect", True) and walk(value, depth + 1) for _key, value in obj.items()
            )
        if isinstance(obj, pikepdf.Array):
            return any(not getattr(value, "is_indirect", True) and walk(value, depth + 1) for value in obj)
        return False

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            declared = int(pdf.trailer.get("/Size", 0))
            if declared > max_objects + 1:
                _refuse("file_too_large", 413, too_complex)
            objects = pdf.objects
            if len(objects) > max_objects:
                _refuse("file_too_large", 413, too_complex)
            for n, obj in enumerate(objects):
                if n % 256 == 0 and time.monotonic() > deadline:
                    _refuse("file_too_large", 413, too_complex)
                if walk(obj):
                    _refuse("active_content", 415, ACTIVE_PDF_MESSAGE)
    except (pikepdf.PikepdfError, ValueError, TypeError, RecursionError):
        # PikepdfError covers qpdf's runtime errors on a damaged file too (a broken pages tree), not only PdfError.
        _refuse("unsupported_file_type", 415, _("Ce PDF est illisible ou endommagé : il est refusé."))


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


# Extensions that name each detected type; any other is replaced by the first.
EXTENSIONS = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",)}


def name_for_type(name: str, mime_type: str) -> str:
    """The user's file name with an extension of the detected type (`x.html` holding a PDF: `x.pdf`),
    so that a download is never opened as anything but what the inspection accepted."""
    allowed = EXTENSIONS.get(mime_type)
    if not allowed:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and f".{extension.lower()}" in allowed:
        return name
    base = stem if dot and stem else name
    return f"{base[: 255 - len(allowed[0])]}{allowed[0]}"


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
    # The whole file is sniffed, not its first kilobyte: a browser may render any part of it.
    for chunk in uploaded.chunks() if hasattr(uploaded, "chunks") else iter(lambda: uploaded.read(65536), b""):
        digest.update(chunk)
        window = tail + chunk
        lowered = window.lower()
        if any(m in lowered for m in MARKUP_ANYWHERE):
            _refuse(
                "active_content",
                415,
                _("Ce fichier contient une page web ou un script : déposez un PDF, un JPEG ou un PNG."),
            )
        if mime == "application/pdf":
            if any(re.search(re.escape(m) + rb"(?![A-Za-z])", window) for m in PDF_ACTIVE_MARKERS):
                _refuse("active_content", 415, ACTIVE_PDF_MESSAGE)
        tail = chunk[-32:]
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    if mime == "application/pdf":
        _pdf_check(data)
        return Inspected(mime_type=mime, extension=ext, size=size, sha256=digest.hexdigest())
    clean = _image_reencoded(data, mime)
    return Inspected(
        mime_type=mime, extension=ext, size=len(clean), sha256=hashlib.sha256(clean).hexdigest(), clean=clean
    )
