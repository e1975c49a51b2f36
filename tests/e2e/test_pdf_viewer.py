"""The PDF viewer of a DMP document page works under the portal's real Content-Security-Policy."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"


@pytest.mark.parametrize("username", ["camille.martin", "dr.moreau"])
def test_the_patient_and_her_gp_see_a_pdf_in_the_viewer(username, demo, watched, login, live_server):
    from dmp.models import SharedDocument
    from records.models import Patient

    camille = Patient.objects.get(account__username="camille.martin")
    document = SharedDocument.objects.filter(record__patient=camille, mime_type="application/pdf", masked=False).first()
    context, watch = watched()
    page = login(context.new_page(), username)
    with page.expect_response(lambda r: "/contenu" in r.url and r.request.frame != page.main_frame) as caught:
        page.goto(f"{live_server.url}/dmp/documents/{document.public_id}/")
    response = caught.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    # Chromium's PDF viewer (an internal extension) opens inside the frame once the framing is allowed.
    for _ in range(50):
        if any(frame.url.startswith(PDF_VIEWER) for frame in page.frames):
            break
        page.wait_for_timeout(100)
    assert any(frame.url.startswith(PDF_VIEWER) for frame in page.frames), [frame.url for frame in page.frames]
    assert watch.check(page) == []
