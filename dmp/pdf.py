"""PDF rendering of a signed CHU report for the DMP (reportlab), the file the feed files."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer


def render_report_pdf(report) -> bytes:
    """A deterministic PDF of a signed report (same report, same bytes, same SHA-256)."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=report.title,
        author=report.author.display_name,
        creator="CHU Portal",
        invariant=1,
    )
    styles = getSampleStyleSheet()
    stay = report.stay
    patient = stay.patient
    story = [
        Paragraph("CHU — " + escape(stay.unit.name), styles["Heading3"]),
        Paragraph(escape(report.title), styles["Title"]),
        Paragraph(
            escape(
                f"Patient : {patient.display_name}, né(e) le {patient.birth_date:%d/%m/%Y} — "
                f"{report.get_type_code_display()} (LOINC {report.type_code}), version {report.version}"
            ),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
    ]
    for paragraph in report.body.split("\n"):
        if paragraph.strip():
            story.append(Paragraph(escape(paragraph), styles["BodyText"]))
    signed = f"{report.signed_at:%d/%m/%Y}" if report.signed_at else ""
    story += [
        Spacer(1, 8 * mm),
        Paragraph(escape(f"Signé par {report.author.display_name} le {signed}"), styles["Italic"]),
    ]
    doc.build(story)
    return buffer.getvalue()
