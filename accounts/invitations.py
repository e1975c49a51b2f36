"""A new staff account's invitation: a link to set its own password (then enrol the second factor), traced."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, Mode, ObjectType

from .models import User


def invitation_link(request, user: User) -> str:
    """The password-reset link of `user` (valid PASSWORD_RESET_TIMEOUT, used once: it dies with the password)."""
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return request.build_absolute_uri(path)


def invitation_send(*, actor: User, user: User, request) -> None:
    """E-mail the invitation to the account's own address (never shown to the administrator); traced."""
    link = invitation_link(request, user)
    with transaction.atomic():
        audit.record(
            actor=actor, action=Action.INVITE, mode=Mode.ADMIN, object_type=ObjectType.ACCOUNT, object_id=user.public_id
        )
        transaction.on_commit(
            lambda: send_mail(
                _("Votre compte CHU Portal"),
                _(
                    "Un compte a été créé pour vous sur CHU Portal (identifiant : %(username)s).\n"
                    "Choisissez votre mot de passe avec ce lien, puis enregistrez votre second facteur à la "
                    "première connexion :\n%(link)s\n"
                )
                % {"username": user.username, "link": link},
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
            )
        )
