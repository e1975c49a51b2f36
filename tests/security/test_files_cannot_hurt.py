"""Files that cannot hurt (issue 18): PDF actions against an allow-list, no forms, no embedded files, no
external references; whole-file sniffing; the stored name's extension is the detected type's; caps on a
PDF's object count and inspection time; a body past the limit refused before it is read. Generated files."""

import io
import time

import pikepdf
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from chu_portal.errors import ServiceError
from dmp import files
from dmp.models import SharedDocument
from dmp.services import documents, records


def pdf(build=None, **save) -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    document.add_blank_page()
    if build:
        build(document)
    out = io.BytesIO()
    document.save(out, **save)
    return out.getvalue()


def refused(data: bytes, name="f.pdf") -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        files.inspect(ContentFile(data, name=name))
    return caught.value


def link(document, action):
    """A link annotation on the first page running `action`."""
    annotation = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 100, 100], A=action)
    document.pages[0].Annots = document.make_indirect(pikepdf.Array([document.make_indirect(annotation)]))


def action(kind, **entries):
    return pikepdf.Dictionary(S=pikepdf.Name(kind), **entries)


@pytest.mark.parametrize(
    "refused_action",
    [
        action("/SubmitForm", F=pikepdf.Dictionary(FS=pikepdf.Name.URL, F=pikepdf.String("https://evil.example/"))),
        action("/ImportData", F=pikepdf.String("data.fdf")),
        action("/URI", URI=pikepdf.String("https://evil.example/phish")),
        action("/GoToR", F=pikepdf.String("\\\\attacker\\share\\x.pdf"), D=pikepdf.Array([0, pikepdf.Name.Fit])),
        action("/Rendition", OP=1),
        action("/ResetForm"),
        action("/Named", N=pikepdf.Name.Print),
    ],
    ids=["SubmitForm", "ImportData", "URI", "GoToR-network", "Rendition", "ResetForm", "Named-Print"],
)
def test_only_navigation_inside_the_document_is_allowed(refused_action):
    assert refused(pdf(lambda d: link(d, refused_action))).code == "active_content"
    # An open action and a page's additional action are looked at too.
    assert refused(pdf(lambda d: setattr(d.Root, "OpenAction", refused_action))).code == "active_content"
    data = pdf(lambda d: setattr(d.pages[0].obj, "AA", pikepdf.Dictionary(O=refused_action)))
    assert refused(data).code == "active_content"


def test_navigation_inside_the_document_is_accepted():
    def navigation(document):
        link(document, action("/GoTo", D=pikepdf.Array([document.pages[1].obj, pikepdf.Name.Fit])))
        document.Root.OpenAction = pikepdf.Array([document.pages[0].obj, pikepdf.Name.Fit])
        document.pages[1].obj.AA = pikepdf.Dictionary(O=action("/Named", N=pikepdf.Name.FirstPage))

    assert files.inspect(ContentFile(pdf(navigation), name="ok.pdf")).mime_type == "application/pdf"


def test_forms_and_embedded_files_and_external_streams_are_refused():
    def form(document):
        field = document.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx, Rect=[0, 0, 9, 9]
            )
        )
        document.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))

    def widget_only(document):
        document.pages[0].Annots = pikepdf.Array(
            [pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, Rect=[0, 0, 9, 9])]
        )

    def file_spec(document):
        document.Root.Extra = pikepdf.Dictionary(Type=pikepdf.Name.Filespec, F=pikepdf.String("\\\\host\\x"))

    def external_stream(document):
        stream = pikepdf.Stream(document, b"")
        stream.F = pikepdf.String("/etc/passwd")
        document.Root.Extra = stream

    for build in (form, widget_only, file_spec, external_stream):
        assert refused(pdf(build)).code == "active_content", build.__name__


def test_html_after_the_first_kilobyte_is_refused():
    def html_later(document):
        document.Root.Junk = pikepdf.Stream(document, b" " * 4096 + b"<html><script>alert(document.cookie)</script>")

    data = pdf(html_later, compress_streams=False)
    assert data.find(b"<html") > 1024
    assert refused(data, "x.html").code == "active_content"


def test_the_stored_name_takes_the_detected_types_extension(db, camille, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    record = records.shared_record_for(camille)
    document = documents.document_upload(
        actor=camille.account,
        record=record,
        uploaded=SimpleUploadedFile("x.html", pdf(), content_type="text/html"),
        title="Ordonnance",
    )
    assert SharedDocument.objects.get(pk=document.pk).original_filename == "x.pdf"
    assert files.name_for_type("photo.JPEG", "image/jpeg") == "photo.JPEG"
    assert files.name_for_type("scan", "image/png") == "scan.png"
    assert files.name_for_type("a.pdf.svg", "application/pdf") == "a.pdf.pdf"


def test_a_legacy_name_is_downloaded_under_the_detected_type(client, db, camille, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    record = records.shared_record_for(camille)
    document = documents.document_upload(
        actor=camille.account, record=record, uploaded=SimpleUploadedFile("a.pdf", pdf()), title="Ancien"
    )
    SharedDocument.objects.filter(pk=document.pk).update(original_filename="x.html")  # stored before issue 18
    client.force_login(camille.account)
    response = client.get(f"/dmp/documents/{document.public_id}/contenu/?download=1")
    assert response.status_code == 200, response
    assert 'filename="x.pdf"' in response["Content-Disposition"]


def test_a_pdf_with_too_many_objects_is_refused_quickly(settings):
    settings.DMP_UPLOAD_PDF_MAX_OBJECTS = 2000

    def many(document):
        document.Root.Many = pikepdf.Array([document.make_indirect(pikepdf.Dictionary(N=i)) for i in range(3000)])

    data = pdf(many)
    started = time.monotonic()
    error = refused(data)
    assert error.code == "file_too_large" and error.status == 413 and "trop complexe" in error.message
    assert time.monotonic() - started < 2


def test_the_inspection_time_is_capped(settings, monkeypatch):
    settings.DMP_UPLOAD_INSPECT_SECONDS = 0  # any walk is past the deadline
    error = refused(pdf(lambda d: setattr(d.Root, "Many", pikepdf.Array(list(range(10))))))
    assert (error.code, error.status) == ("file_too_large", 413)


def test_a_body_past_the_limit_is_refused_before_it_is_read(api, camille, settings):
    settings.DMP_UPLOAD_MAX_BYTES = 1024 * 1024
    api.as_user(camille.account)
    read = []

    class Body(io.BytesIO):
        def read(self, *args):
            read.append(args)
            return super().read(*args)

    environ_body = Body(b"x" * 10)
    response = api.generic(
        "POST",
        f"/api/v1/dmp/{camille.public_id}/documents/",
        data=b"",
        content_type="multipart/form-data; boundary=zzz",
        CONTENT_LENGTH=str(2 * 1024 * 1024),
        **{"wsgi.input": environ_body},
    )
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    assert read == []  # not a byte of the body was read


def test_a_file_past_the_limit_inside_a_smaller_body_is_not_kept(api, camille, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DMP_UPLOAD_MAX_BYTES = 100 * 1024
    records.shared_record_for(camille)
    api.as_user(camille.account)
    big = pdf() + b"%" + b"0" * (150 * 1024)  # over the file limit, within the request's slack
    response = api.post(
        f"/api/v1/dmp/{camille.public_id}/documents/",
        {"title": "Gros", "file": SimpleUploadedFile("gros.pdf", big)},
        format="multipart",
    )
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    assert not SharedDocument.objects.exists()


def test_the_upload_handler_stops_keeping_bytes_past_the_limit(settings):
    from chu_portal.uploads import LimitedUploadHandler, OversizedUpload

    settings.DMP_UPLOAD_MAX_BYTES = 10
    handler = LimitedUploadHandler()
    handler.new_file("file", "a.pdf", "application/pdf", 30)
    assert handler.receive_data_chunk(b"0123456789", 0) == b"0123456789"
    assert handler.receive_data_chunk(b"abcdefghij", 10) is None
    upload = handler.file_complete(20)
    assert isinstance(upload, OversizedUpload) and upload.size == 20 and upload.read() == b""
