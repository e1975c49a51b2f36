"""Two-factor login: TOTP enrolment with backup codes, verification, and an administrator's reset."""

from __future__ import annotations

import base64
import io
import secrets
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import AccessDenied, Decision

from .models import Role, User

TOTP_NAME = "authenticator"
BACKUP_NAME = "backup"


def required_for(user) -> bool:
    """Mandatory for professionals, the DPO and admins; for a patient once she enrolled one."""
    if not user.is_authenticated:
        return False
    return user.role in settings.SECOND_FACTOR_ROLES or has_confirmed_device(user)


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_totp_device(user) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled (a new secret each time enrolment starts over)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=TOTP_NAME).first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def provisioning_uri(device: TOTPDevice) -> str:
    issuer = settings.OTP_TOTP_ISSUER
    label = quote(f"{issuer}:{device.user.username}")
    return f"otpauth://totp/{label}?secret={secret_base32(device)}&issuer={quote(issuer)}&digits={device.digits}&period={device.step}"


def qr_svg(data: str) -> str:
    """The QR code as inline SVG (no image file, no external service)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]


def enrolment_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the pending TOTP device with a first code; create backup codes (shown once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=TOTP_NAME).first()
    if device is None or not device.verify_token(code.strip().replace(" ", "")):
        raise AccessDenied(
            Decision.deny(
                "otp_invalid", "Code incorrect. Vérifiez l'heure de votre téléphone et réessayez.", status=400
            )
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = backup_codes_renew(user)
        audit.record(
            actor=user,
            action=Action.ENROL_SECOND_FACTOR,
            mode=Mode.SELF,
            object_type=ObjectType.ACCOUNT,
            object_id=user.public_id,
        )
    return codes


def backup_codes_renew(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(settings.BACKUP_CODES_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def verify(user: User, code: str):
    """The device that accepts this code (TOTP, or a backup code used up), or None."""
    code = (code or "").strip().replace(" ", "")
    if not code:
        return None
    return match_token(user, code)


def second_factor_reset(*, actor: User, user: User) -> None:
    """An administrator removes a user's lost second factor; the user enrols again at next login."""
    if actor.role != Role.ADMIN:
        raise AccessDenied(Decision.deny("forbidden", "Seul un administrateur réinitialise un second facteur."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        # Whoever held the lost phone may hold a session or a token too: they end here.
        user.credentials_revoke()
        audit.record(
            actor=actor,
            action=Action.RESET_SECOND_FACTOR,
            mode=Mode.ADMIN,
            object_type=ObjectType.ACCOUNT,
            object_id=user.public_id,
        )
