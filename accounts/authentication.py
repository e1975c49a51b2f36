"""DRF authentication by hashed, expiring API tokens (`Authorization: Token <token>`)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .models import ApiToken


class HashedTokenAuthentication(BaseAuthentication):
    keyword = b"token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("En-tête Authorization invalide."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Jeton invalide.")) from exc
        token = ApiToken.find_live(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Jeton invalide, expiré ou révoqué."))
        request.api_token = token
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
