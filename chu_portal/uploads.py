"""Upload size, enforced before the body is read: a middleware on Content-Length, an upload handler per file.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE ignores files, so without these a 2 GB body would be received
(into a temporary file) before the DMP's inspection said "too large". The proxy in front of the
portal should refuse earlier still (docs/security.md: `client_max_body_size` = `UPLOAD_MAX_REQUEST_BYTES`).
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

# Room for the multipart headers and the form's other fields beside the largest file.
FORM_SLACK_BYTES = 256 * 1024


def request_limit() -> int:
    """The largest request body accepted: the largest file plus the form around it."""
    return settings.DMP_UPLOAD_MAX_BYTES + FORM_SLACK_BYTES


def too_large_message() -> str:
    return _("Le fichier dépasse la taille maximale de %(mb)s Mo.") % {
        "mb": settings.DMP_UPLOAD_MAX_BYTES // (1024 * 1024)
    }


class UploadLimitMiddleware:
    """Answers 413 to a body announced larger than the limit, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > request_limit():
            body = {"detail": too_large_message(), "code": "file_too_large"}
            if request.path_info.startswith(("/api/", "/fhir/")) or request.headers.get("x-requested-with"):
                return JsonResponse(body, status=413)
            # Runs before sessions and authentication: a plain sentence, no page around it.
            return HttpResponse(body["detail"], status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class OversizedUpload(UploadedFile):
    """A file that went past the limit: its bytes were not kept, only its size (the inspection refuses it)."""

    def __init__(self, name: str, size: int, content_type: str | None):
        super().__init__(io.BytesIO(b""), name=name, content_type=content_type, size=size)


class LimitedUploadHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: past DMP_UPLOAD_MAX_BYTES a file's bytes are no longer passed on
    to the handlers that store them (memory, temporary file); the file reaches the inspection as an
    empty `OversizedUpload` of its real size, refused there with `file_too_large`."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.too_large = False

    def receive_data_chunk(self, raw_data, start):
        if self.too_large or start + len(raw_data) > settings.DMP_UPLOAD_MAX_BYTES:
            self.too_large = True
            return None
        return raw_data

    def file_complete(self, file_size):
        if self.too_large:
            return OversizedUpload(self.file_name, file_size, self.content_type)
        return None
