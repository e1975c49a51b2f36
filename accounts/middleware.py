"""Keeps professionals, the DPO and admins behind their second factor, and ends their idle sessions."""

import time

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from . import second_factor

# Paths a signed-in but not yet verified user may reach.
_OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/login/", "/static/", "/health/", "/api/v1/auth/")
_TOUCH_EVERY = 60  # seconds: refresh the idle expiry at most this often (one session write a minute)


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and second_factor.required_for(user):
            self._slide_idle_expiry(request)
            if not user.is_verified() and not request.path.startswith(_OPEN_PREFIXES):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Second facteur d'authentification requis.", "code": "otp_required"}, status=401
                    )
                target = "accounts:otp_verify" if second_factor.has_confirmed_device(user) else "accounts:otp_enrol"
                return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _slide_idle_expiry(request):
        now = int(time.time())
        if now - request.session.get("_idle_touch", 0) >= _TOUCH_EVERY:
            request.session["_idle_touch"] = now
            request.session.set_expiry(settings.PROFESSIONAL_SESSION_IDLE_SECONDS)
