"""Safe files: PDFs parsed for active content, images decoded and re-encoded, the validator fuzzed."""

import io

import pikepdf
import pytest
from django.core.files.base import ContentFile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from chu_portal.errors import ServiceError
from dmp import files


def pdf(build=None, **save) -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    if build:
        build(document)
    out = io.BytesIO()
    document.save(out, **save)
    return out.getvalue()


def inspect(data: bytes, name="f.pdf"):
    return files.inspect(ContentFile(data, name=name))


def refused_code(data: bytes) -> str:
    with pytest.raises(ServiceError) as refused:
        inspect(data)
    return refused.value.code


def with_open_action_js(document):
    document.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))


def test_a_plain_pdf_is_accepted():
    assert inspect(pdf()).mime_type == "application/pdf"


def test_javascript_hidden_in_a_compressed_object_stream_is_found():
    data = pdf(with_open_action_js, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    assert b"/JavaScript" not in data  # invisible to a byte scan
    assert refused_code(data) == "active_content"


def test_an_escaped_name_does_not_hide_javascript():
    data = pdf(with_open_action_js, object_stream_mode=pikepdf.ObjectStreamMode.disable).replace(
        b"/JavaScript", b"/J#61vaScript"
    )
    assert refused_code(data) == "active_content"


def test_a_launch_action_and_an_attachment_are_refused():
    def launch(document):
        document.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))

    def attachment(document):
        document.attachments["payload.exe"] = pikepdf.AttachedFileSpec(document, b"MZ payload")

    assert refused_code(pdf(launch)) == "active_content"
    assert refused_code(pdf(attachment)) == "active_content"


def test_a_truncated_pdf_is_refused():
    assert refused_code(b"%PDF-1.7\n" + b"garbage" * 10) == "unsupported_file_type"


def test_an_image_is_stored_re_encoded_without_its_metadata():
    image = Image.new("RGB", (16, 16), (0, 90, 200))
    exif = Image.Exif()
    exif[0x010E] = "Patient Camille Martin, IRM du genou"  # ImageDescription
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    original = out.getvalue() + b"trailing payload after the image"
    inspected = inspect(original, "photo.jpg")
    assert (
        inspected.clean is not None and b"Camille" not in inspected.clean and b"trailing payload" not in inspected.clean
    )
    assert Image.open(io.BytesIO(inspected.clean)).size == (16, 16)
    assert inspected.size == len(inspected.clean)


def test_magic_bytes_alone_do_not_make_an_image():
    assert refused_code(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) == "unsupported_file_type"
    assert refused_code(b"\xff\xd8\xff\xe0" + b"\x00" * 64) == "unsupported_file_type"


MAGICS = [b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"MZ", b"<html>", b"", b"\x7fELF"]


@settings(max_examples=150, deadline=None)
@given(prefix=st.sampled_from(MAGICS), body=st.binary(max_size=2048))
def test_the_validator_answers_every_input_with_a_verdict_or_a_coded_refusal(prefix, body):
    data = prefix + body
    try:
        inspected = inspect(data)
    except ServiceError as refused:
        assert refused.code in {"empty_file", "file_too_large", "unsupported_file_type", "active_content"}
        assert refused.status in {400, 413, 415}
    else:
        assert inspected.mime_type in {"application/pdf", "image/png", "image/jpeg"}
        assert data.startswith((b"%PDF-", b"\x89PNG", b"\xff\xd8\xff"))


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0, max_value=10_000), junk=st.binary(min_size=1, max_size=64))
def test_a_mutated_pdf_with_javascript_is_never_accepted_as_clean(position, junk):
    data = bytearray(pdf(with_open_action_js, object_stream_mode=pikepdf.ObjectStreamMode.generate))
    position %= len(data)
    data[position : position + len(junk)] = junk
    try:
        inspect(bytes(data))
    except ServiceError:
        return
    # Accepted only when the mutation destroyed the script itself: then no parser finds it either.
    with pikepdf.open(io.BytesIO(bytes(data))) as parsed:
        assert not any(
            isinstance(o, pikepdf.Dictionary) and files.PDF_ACTIVE_KEYS.intersection(o.keys()) for o in parsed.objects
        )
